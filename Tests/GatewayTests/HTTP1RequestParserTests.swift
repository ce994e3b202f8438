import HTTPTypes
import NIOCore
import Testing

@testable import Gateway

/// The HTTP/1.1 request parser: every framing, fed whole and byte by byte, pipelined requests, and
/// the malformed requests it must refuse rather than guess at (request smuggling).
struct HTTP1RequestParserTests {
    struct Parsed {
        var heads: [HTTP1RequestHead] = []
        var bodies: [[UInt8]] = []
        var ends = 0
    }

    static func parse(_ text: String, split: Int? = nil) throws -> Parsed {
        var parser = HTTP1RequestParser()
        var parsed = Parsed()
        let bytes = Array(text.utf8)
        let step = split ?? max(bytes.count, 1)
        var offset = 0
        repeat {
            parser.feed(ByteBuffer(bytes: bytes[offset..<min(bytes.count, offset + step)]))
            offset += step
            while let part = try parser.next() {
                switch part {
                case .head(let head):
                    #expect(parsed.heads.count == parsed.ends, "a head before the previous request ended")
                    parsed.heads.append(head)
                    parsed.bodies.append([])
                case .body(let buffer):
                    parsed.bodies[parsed.bodies.count - 1] += buffer.readableBytesView
                case .end:
                    parsed.ends += 1
                }
            }
        } while offset < bytes.count
        return parsed
    }

    static func everySplit(_ text: String, check: (Parsed) -> Void) throws {
        for split in [nil, 1, 2, 3, 7] { check(try parse(text, split: split)) }
    }

    static func refusal(_ text: String) -> HTTP1RequestParser.Failure? {
        do {
            _ = try parse(text)
            return nil
        } catch let failure as HTTP1RequestParser.Failure {
            return failure
        } catch {
            return nil
        }
    }

    @Test func simpleGet() throws {
        try Self.everySplit("GET /echo/a?b=1 HTTP/1.1\r\nHost: localhost:8443\r\nUser-Agent: curl/8\r\nX-Custom:  spaced value \t\r\n\r\n") { parsed in
            #expect(parsed.heads.count == 1 && parsed.ends == 1)
            guard let head = parsed.heads.first else { return }
            #expect(head.method == .get)
            #expect(head.target == "/echo/a?b=1" && head.path == "/echo/a?b=1")
            #expect(head.authority == "localhost:8443")
            #expect(head.fields[HTTPField.Name("host")!] == nil, "the first Host is the authority, not a field")
            #expect(head.fields[.userAgent] == "curl/8")
            #expect(head.fields[HTTPField.Name("x-custom")!] == "spaced value")
            #expect(head.keepAlive && !head.http10 && !head.hasBody)
        }
    }

    @Test func contentLengthBodyAndPipelining() throws {
        let text = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        try Self.everySplit(text) { parsed in
            #expect(parsed.heads.map(\.target) == ["/a", "/b"])
            #expect(parsed.bodies.map { String(decoding: $0, as: UTF8.self) } == ["hello", ""])
            #expect(parsed.ends == 2)
            #expect(parsed.heads.last?.keepAlive == false)
        }
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() throws {
        let text = "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\n"
        try Self.everySplit(text) { parsed in
            #expect(parsed.heads.first?.chunked == true)
            #expect(String(decoding: parsed.bodies.first ?? [], as: UTF8.self) == "hello, world!!!")
            #expect(parsed.ends == 1)
        }
    }

    @Test func http10KeepAliveAndLeadingEmptyLines() throws {
        try Self.everySplit("\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") { parsed in
            #expect(parsed.heads.first?.http10 == true)
            #expect(parsed.heads.first?.keepAlive == true)
        }
        let plain = try Self.parse("GET / HTTP/1.0\r\n\r\n")
        #expect(plain.heads.first?.keepAlive == false)
    }

    @Test func absoluteFormTargetsGiveTheirPath() throws {
        #expect(try Self.parse("GET http://example.com/x/y?z=1 HTTP/1.1\r\nHost: example.com\r\n\r\n").heads.first?.path == "/x/y?z=1")
        #expect(try Self.parse("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n").heads.first?.path == "/")
        #expect(try Self.parse("GET http://example.com?q HTTP/1.1\r\nHost: example.com\r\n\r\n").heads.first?.path == "/?q")
        #expect(try Self.parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").heads.first?.path == "*")
    }

    @Test func upgradeStopsParsing() throws {
        let text = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"
        let parsed = try Self.parse(text)
        #expect(parsed.heads.count == 1 && parsed.ends == 1)
        #expect(parsed.heads.first?.upgrades == true)
        #expect(parsed.heads.first?.upgradeToWebSocket == true && parsed.heads.first?.connectionUpgrade == true)
    }

    @Test("malformed requests are refused with their reason", arguments: [
        ("GET / HTTP/1.1\nHost: h\r\n\r\n", "bare LF"),
        ("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", "bare CR"),
        ("GET / HTTP/1.1\r\nHost : h\r\n\r\n", "malformed header field name"),
        ("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", "obsolete line folding"),
        ("GET / HTTP/1.1\r\nX: a\u{01}b\r\n\r\n", "control character"),
        ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", "malformed HTTP version"),
        ("GET / HTTP/1.2\r\nHost: h\r\n\r\n", "HTTP version not supported"),
        ("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", "malformed HTTP version"),
        ("G(T / HTTP/1.1\r\n\r\n", "malformed request line"),
        ("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "conflicting Content-Length"),
        ("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", "conflicting Content-Length"),
        ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "malformed Content-Length"),
        ("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", "malformed Content-Length"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", "both Transfer-Encoding and Content-Length"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n", "does not end with chunked"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "more than one Transfer-Encoding"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", "chunk size too large"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", "not followed by CRLF"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n", "not ended by CRLF"),
    ])
    func malformed(text: String, reason: String) {
        let failure = Self.refusal(text)
        #expect(failure?.kind == .badRequest, "\(text.debugDescription): \(failure.map { "\($0)" } ?? "accepted")")
        #expect(failure?.reason.contains(reason) == true, "\(text.debugDescription): \(failure.map { "\($0)" } ?? "accepted")")
    }

    @Test func unknownCodingBeforeChunkedIsNotImplemented() {
        #expect(Self.refusal("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")?.kind == .notImplemented)
    }

    @Test func oversizedHeadsAreRefusedEarly() {
        let big = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: HTTP1RequestParser.maxHeadBytes) + "\r\n\r\n"
        #expect(Self.refusal(big)?.kind == .headTooLarge)
        // Without its end: refused as soon as more than the limit is held.
        var parser = HTTP1RequestParser()
        parser.feed(ByteBuffer(string: "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: HTTP1RequestParser.maxHeadBytes)))
        #expect(throws: HTTP1RequestParser.Failure.self) { _ = try parser.next() }
    }

    @Test func nothingIsHandedOutAfterAFailure() throws {
        var parser = HTTP1RequestParser()
        parser.feed(ByteBuffer(string: "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"))
        #expect(throws: HTTP1RequestParser.Failure.self) { _ = try parser.next() }
        parser.feed(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        let next = try parser.next()
        #expect(next == nil)
    }
}
