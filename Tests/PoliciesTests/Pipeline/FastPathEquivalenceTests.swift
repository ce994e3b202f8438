import Foundation
import Testing

@testable import Policies

/// The per-request text fast paths give exactly what the Foundation calls they replace give.
@Suite struct FastPathEquivalenceTests {
    static let samples = [
        "", "x", "GET", " get ", "\tPOST\t", "a b", "api-version", "2024-01-01", "ümlaut", " ümlaut ", "\u{00A0}nbsp\u{00A0}", "🙂 ok",
        "a/b?c=d&e#f", "100%", "%41", "%zz", "tab\there", "  ", "\t", "UPPER", "MiXeD-Case_~.", "日本語", "\r\n", "x\u{2003}",
    ]

    @Test func percentEncodingMatchesFoundation() {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        for sample in Self.samples {
            #expect(URLText.encode(sample) == sample.addingPercentEncoding(withAllowedCharacters: allowed), "\(sample)")
            #expect(
                PolicyExecution.percentEncodedSegment(sample)
                    == (sample.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? sample), "\(sample)")
            #expect(PolicyExecution.percentDecoded(sample) == (sample.removingPercentEncoding ?? sample), "\(sample)")
        }
    }

    @Test func trimmingAndCaseMatchFoundation() {
        for sample in Self.samples {
            #expect(ASCII.trimmingWhitespace(sample) == sample.trimmingCharacters(in: .whitespaces), "\(sample)")
            #expect(ASCII.uppercased(sample) == sample.uppercased(), "\(sample)")
        }
        #expect(ASCII.droppingPrefixIgnoringCase("/Echo", from: "/echo/items") == "/items")
        #expect(ASCII.droppingPrefixIgnoringCase("/echo", from: "/ECHO") == "")
        #expect(ASCII.droppingPrefixIgnoringCase("/echo", from: "/ech") == nil)
        #expect(ASCII.droppingPrefixIgnoringCase("/echo", from: "/other") == nil)
        #expect(ASCII.droppingPrefixIgnoringCase("/e-cho", from: "/e\u{0D}cho") == nil)
        #expect(ASCII.droppingPrefixIgnoringCase("/ümlaut", from: "/ÜMLAUT/x") == "/x")
    }

    @Test func tokenCheckIsRFC9110() {
        for token in ["GET", "X-Custom_1", "!#$%&'*+-.^_`|~", "a1"] { #expect(SetMethodPolicy.isToken(token), "\(token)") }
        for bad in ["", "X Bad", "a:b", "é", "a\r\nb", "(x)", "a/b", "a\u{0}"] { #expect(!SetMethodPolicy.isToken(bad), "\(bad)") }
    }
}
