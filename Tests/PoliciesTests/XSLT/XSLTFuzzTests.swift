import Foundation
import Testing

@testable import Policies

/// Random mutations of XPath expressions, patterns and bodies: compiling and running never trap
/// or hang; every failure is an error (a load error for the stylesheet, `XSLTError` for a run).
@Suite struct XSLTFuzzTests {
    static let expressions = [
        "count(//b[@i &gt; 1]/following-sibling::*) + sum(//@i) div 2",
        "concat(substring('abcdef', -1 div 0, 3), translate(name(/*), 'r', 'R'), normalize-space(' a  b '))",
        "(//b | //c)[last()]/ancestor-or-self::*[1]/@i = 2 or not(//x) and string-length(.) mod 2",
        "//b[position() = last() - 1][text()]/preceding::node()[1]",
        "substring-before(string(//b[2]/@i), '2') != substring-after('a=b', '=') and round(-0.5) &lt; ceiling(0.1)",
        "$v/self::node() | current()/r | //p:b[@p:j]",
        "generate-id(/*) = generate-id(/r) and system-property('xsl:version') = 1",
    ]
    static let body = #"<r xmlns:p="urn:p"><b i="1">x</b><b i="2"><c/>y</b><p:b i="3" p:j="4"/>t</r>"#
    static let pieces = ["(", ")", "[", "]", "/", "//", "|", "@", "*", "::", "..", ".", "'", "\"", "$v", "-", "div", "0", "1e", "last()", "&lt;", "node()", ",", " ", "ancestor::", "p:"]

    static func stylesheet(_ expression: String) -> String {
        """
        <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:p="urn:p">
          <xsl:output omit-xml-declaration="yes" />
          <xsl:variable name="v" select="/r" />
          <xsl:template match="/"><o><xsl:value-of select="\(expression)" /><xsl:copy-of select="\(expression)" /><xsl:for-each select="//node()"><xsl:sort select="\(expression)" /><xsl:value-of select="\(expression)" /></xsl:for-each></o></xsl:template>
          <xsl:template match="b[\(expression)]" mode="m"><xsl:apply-templates select="." mode="m" /></xsl:template>
        </xsl:stylesheet>
        """
    }

    @Test func theUnmutatedExpressionsRun() throws {
        for expression in Self.expressions {
            let sheet = try XSLTEngineTests.compile(Self.stylesheet(expression))
            _ = try XSLTRun.transform(sheet, body: Array(Self.body.utf8), parameters: [:], limits: XSLTLimits())
        }
    }

    @Test func mutatedExpressionsCompileOrFailCleanly() throws {
        var generator = SeededGenerator(state: 0x5EED_0F_5A17)
        var compiled = 0, ran = 0
        for _ in 0..<1500 {
            var text = Array(Self.expressions.randomElement(using: &generator) ?? "1")
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let at = Int.random(in: 0...text.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0 where at < text.count: text.remove(at: at)
                case 1: text.insert(contentsOf: Self.pieces.randomElement(using: &generator) ?? "", at: at)
                default:
                    if at < text.count { text[at] = Self.pieces.randomElement(using: &generator)?.first ?? "x" }
                }
            }
            let sheet: XSLTStylesheet
            do {
                sheet = try XSLTEngineTests.compile(Self.stylesheet(String(text)))
            } catch {
                continue  // a reader or compile error: refused at load, as it should be
            }
            compiled += 1
            var limits = XSLTLimits()
            limits.maximumSteps = 20_000
            limits.maximumOutputBytes = 1 << 16
            if (try? XSLTRun.transform(sheet, body: Array(Self.body.utf8), parameters: [:], limits: limits)) != nil { ran += 1 }
        }
        // Deterministic (seeded): enough mutants compile and run that the run-time paths are exercised too.
        #expect(compiled > 30, "\(compiled) compiled")
        #expect(ran > 20, "\(ran) ran")
    }

    @Test func mutatedBodiesParseOrFailCleanly() throws {
        let identity = try XSLTEngineTests.compile(XSLTEngineTests.sheet(
            #"<xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>"#))
        var generator = SeededGenerator(state: 0xB0D1E5)
        let markup = Array(XSLTEngineTests.soap.utf8)
        for _ in 0..<1500 {
            var bytes = markup
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let at = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[at] = [UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), UInt8(ascii: "/"), UInt8(ascii: ":"), 0xFF, 0x00, UInt8(ascii: "\"")]
                    .randomElement(using: &generator) ?? 0
            }
            do {
                let (output, _) = try XSLTRun.transform(identity, body: bytes, parameters: [:], limits: XSLTLimits())
                #expect(!output.isEmpty)
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
    }
}
