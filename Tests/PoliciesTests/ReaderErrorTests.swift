import Testing

@testable import Policies

@Suite("Policy reader: malformed input fails with exact positions")
struct ReaderErrorTests {
    @Test("each malformed document yields one error at the exact place", arguments: [
        (#"<a b="1"c="2"/>"#, "test.xml:1:9: expected whitespace, '>' or '/>' after attribute value, found 'c'"),
        ("<policies>\n<inbound>\n</policies>", "test.xml:3:1: expected '</inbound>' but found '</policies>'"),
        ("<policies>\n  <inbound>", "test.xml:2:12: expected '</inbound>' to close '<inbound>' opened at line 2, column 3, found end of file"),
        (#"<a b="1""#, "test.xml:1:9: expected '>' or '/>' to end the start tag of '<a>', found end of file"),
        ("<a></ >", "test.xml:1:4: expected '</a>' but found '</' without a name"),
        ("<a></a", "test.xml:1:7: expected '>' to end '</a', found end of file"),
        ("<a><!-- x </a>", "test.xml:1:4: unterminated comment: expected '-->'"),
        ("<a>&foo;</a>", "test.xml:1:4: expected an entity reference such as '&amp;', '&lt;', '&quot;' or '&#38;' after '&' (write '&amp;' for a literal '&')"),
        ("<a>&#0;</a>", "test.xml:1:4: expected an entity reference such as '&amp;', '&lt;', '&quot;' or '&#38;' after '&' (write '&amp;' for a literal '&')"),
        (#"<a b="x<y"/>"#, "test.xml:1:8: '<' is not allowed in the value of attribute 'b' (write '&lt;')"),
        (#"<a b="1" b="2"/>"#, "test.xml:1:10: duplicate attribute 'b' on '<a>'"),
        (#"<!DOCTYPE a [<!ENTITY x "y">]><a/>"#, "test.xml:1:1: document type declarations are not allowed in policy documents"),
        ("<a/>x", "test.xml:1:5: expected end of file after the root element '</a>', found 'x'"),
        ("", "test.xml:1:1: expected '<' to start the root element, found end of file"),
        ("  hello", "test.xml:1:3: expected '<' to start the root element, found 'h'"),
        (#"<a b "1"/>"#, #"test.xml:1:6: expected '=' after attribute name 'b', found '"'"#),
        ("<a b=1/>", "test.xml:1:6: expected '\"' or ''' to start the value of attribute 'b', found '1'"),
        ("<a b=\"xyz", "test.xml:1:6: unterminated value of attribute 'b': expected a closing '\"'"),
        ("< a/>", "test.xml:1:2: expected an element name after '<', found ' '"),
        ("<a><![CDATA[x</a>", "test.xml:1:4: unterminated CDATA section: expected ']]>'"),
        ("<a><!ELEMENT x></a>", "test.xml:1:4: declarations ('<!') are not allowed inside an element"),
        ("<?xml version=\"1.0\"", "test.xml:1:1: unterminated processing instruction: expected '?>'"),
        // Expressions
        (#"<when condition="@(a == (b)" />"#, #"test.xml:1:28: unterminated string literal in expression: expected a closing '"' before the end of the line (if this quote was meant to end the attribute value, a ')' is missing before it)"#),
        ("<value>@(foo</value>", "test.xml:1:9: unterminated expression: '(' is never closed (expected ')' before the end of the file)"),
        ("<value>@{ return 1; </value>", "test.xml:1:9: unterminated expression: '{' is never closed (expected '}' before the end of the file)"),
        ("<value>@(a]</value>", "test.xml:1:11: expected ')' to match the '(' at line 1, column 9, found ']'"),
        ("<value>@(f(a})</value>", "test.xml:1:13: expected ')' to match the '(' at line 1, column 11, found '}'"),
        ("<value>@('a)</value>", "test.xml:1:10: unterminated character literal in expression: expected a closing \"'\" before the end of the line"),
        ("<value>@(@\"abc)</value>", "test.xml:1:10: unterminated verbatim string literal in expression: expected a closing '\"'"),
        ("<value>@($\"{a\")</value>", "test.xml:1:14: unterminated string literal in expression: expected a closing '\"' before the end of the line"),
        ("<value>@($\"abc)</value>", "test.xml:1:10: unterminated interpolated string literal in expression: expected a closing '\"'"),
        ("<value>@(a /* b)</value>", "test.xml:1:12: unterminated comment in expression: expected '*/'"),
        (#"<a b="@(x) <y"/>"#, "test.xml:1:12: '<' is not allowed in the value of attribute 'b' (write '&lt;')"),
        ("<value>\n  @(\"abc\n\")</value>", "test.xml:2:5: unterminated string literal in expression: expected a closing '\"' before the end of the line"),
    ])
    func malformed(text: String, expected: String) {
        #expect(readErrors(text) == [expected])
    }

    @Test("elements nested beyond the limit fail at the element that crosses it")
    func elementDepthLimit() {
        let limits = PolicyReaderLimits(maximumElementDepth: 3)
        #expect(readErrors("<a><b><c><d/></c></b></a>", limits: limits) == ["test.xml:1:10: elements are nested deeper than 3 levels"])
        #expect(readErrors("<a><b><c/></b></a>", limits: limits) == [])
    }

    @Test("expressions nested beyond the limit fail at the bracket that crosses it")
    func expressionDepthLimit() {
        let limits = PolicyReaderLimits(maximumExpressionDepth: 4)
        #expect(readErrors("<v>@(((((x)))))</v>", limits: limits) == ["test.xml:1:9: expression is nested deeper than 4 levels"])
    }

    @Test("deep nesting far beyond the stack is refused, not a crash")
    func hostileDepth() {
        let elements = String(repeating: "<a>", count: 100_000)
        #expect(readErrors(elements).first == "test.xml:1:193: elements are nested deeper than 64 levels")
        let brackets = "<v>@" + String(repeating: "(", count: 100_000)
        #expect(readErrors(brackets).first == "test.xml:1:261: expression is nested deeper than 256 levels")
    }

    @Test("documents over the size limit are refused before reading")
    func sizeLimit() {
        let limits = PolicyReaderLimits(maximumBytes: 10)
        #expect(readErrors("<policies></policies>", limits: limits) == ["test.xml:1:1: policy document is 21 bytes; the limit is 10"])
    }

    @Test("the file name given appears in every message")
    func fileNameInMessages() {
        #expect(readErrors("<a>", file: "apis/orders.xml").first?.hasPrefix("apis/orders.xml:1:4: ") == true)
    }
}
