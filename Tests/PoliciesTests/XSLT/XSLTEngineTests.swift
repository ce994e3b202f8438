import Foundation
import Testing

@testable import Policies

/// The XSLT 1.0 subset engine on its own: stylesheets compiled as the policy reader reads them,
/// run over bodies, compared with the outputs XSLT 1.0 (and .NET's XmlWriter) define.
@Suite struct XSLTEngineTests {
    static let xsl = #"xmlns:xsl="http://www.w3.org/1999/XSL/Transform""#

    static func compile(_ stylesheet: String) throws -> XSLTStylesheet {
        let element = try PolicyXMLReader.read(SourceText(file: "test.xsl", text: stylesheet))
        return try XSLTCompiler.compile(element)
    }

    static func transform(_ stylesheet: String, _ input: String, parameters: [String: String] = [:], limits: XSLTLimits = XSLTLimits()) throws -> String {
        let (bytes, _) = try XSLTRun.transform(try compile(stylesheet), body: Array(input.utf8), parameters: parameters, limits: limits)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A stylesheet of `body`, with no XML declaration in its output.
    static func sheet(_ body: String, output: String = #"<xsl:output omit-xml-declaration="yes" />"#) -> String {
        #"<xsl:stylesheet version="1.0" \#(xsl)>\#(output)\#(body)</xsl:stylesheet>"#
    }

    static func compileError(_ stylesheet: String) -> String {
        do {
            _ = try compile(stylesheet)
            return "compiled"
        } catch let error as XSLTCompileError {
            return "\(error.position.line):\(error.position.column): \(error.message)"
        } catch {
            return "\(error)"
        }
    }

    static let soap = #"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetQuoteResponse xmlns="urn:quotes"><Quote symbol="MSFT">412.5</Quote><Quote symbol="AAPL">189</Quote></GetQuoteResponse></soap:Body></soap:Envelope>"#

    // MARK: The reference's examples

    @Test func theReferencesResponseExampleIsTheIdentityTransformIndented() throws {
        // xsl-transform-policy.md, "Transform response body" (verbatim stylesheet).
        let stylesheet = """
            <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
              <xsl:output omit-xml-declaration="yes" method="xml" indent="yes" />
              <!-- Copy all nodes directly-->
              <xsl:template match="node()| @*|*">
                  <xsl:copy>
                      <xsl:apply-templates select="@* | node()|*" />
                  </xsl:copy>
              </xsl:template>
            </xsl:stylesheet>
            """
        #expect(try Self.transform(stylesheet, Self.soap) == """
            <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
              <soap:Body>
                <GetQuoteResponse xmlns="urn:quotes">
                  <Quote symbol="MSFT">412.5</Quote>
                  <Quote symbol="AAPL">189</Quote>
                </GetQuoteResponse>
              </soap:Body>
            </soap:Envelope>
            """)
    }

    @Test func theReferencesRequestExampleAddsTheParameterToTheRoot() throws {
        // xsl-transform-policy.md, "Transform request body" (verbatim stylesheet): the root element
        // gets a User-Agent attribute from the stylesheet parameter; an XML declaration is written.
        let stylesheet = """
            <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
                <xsl:output method="xml" indent="yes" />
                <xsl:param name="User-Agent" />
                <xsl:template match="* | @* | node()">
                    <xsl:copy>
                        <xsl:if test="self::* and not(parent::*)">
                            <xsl:attribute name="User-Agent">
                                <xsl:value-of select="$User-Agent" />
                            </xsl:attribute>
                        </xsl:if>
                        <xsl:apply-templates select="* | @* | node()" />
                    </xsl:copy>
                </xsl:template>
            </xsl:stylesheet>
            """
        let input = #"<order id="7"><item sku="a">2</item><note>hi &amp; bye</note></order>"#
        #expect(try Self.transform(stylesheet, input, parameters: ["User-Agent": "curl/8.5"]) == """
            <?xml version="1.0" encoding="utf-8"?>
            <order User-Agent="curl/8.5" id="7">
              <item sku="a">2</item>
              <note>hi &amp; bye</note>
            </order>
            """)
        // Without the parameter, its default (the empty string).
        #expect(try Self.transform(stylesheet, "<a/>").hasSuffix(#"<a User-Agent="" />"#))
    }

    // MARK: Templates

    @Test func identityWithoutIndentKeepsTheDocumentAsItIs() throws {
        let identity = Self.sheet(#"<xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>"#)
        let input = #"<?xml version="1.0"?><!-- outside: not kept --><a x="1&quot;&lt;"><b>t &lt; u</b>mixed<!-- note --><c/><?pi some data?><p:d xmlns:p="urn:p" p:e="2"/><![CDATA[<&>]]></a>"#
        #expect(try Self.transform(identity, input) == #"<a x="1&quot;&lt;"><b>t &lt; u</b>mixed<!-- note --><c /><?pi some data?><p:d xmlns:p="urn:p" p:e="2" />&lt;&amp;&gt;</a>"#)
        let kinds = Self.sheet(#"<xsl:template match="/"><xsl:value-of select="concat(count(//comment()), count(//processing-instruction()), count(//processing-instruction('other')), name(//processing-instruction()), '|', //comment(), '|', string(/a))"/><xsl:apply-templates select="//comment()"/></xsl:template><xsl:template match="comment()">[c]</xsl:template>"#)
        let kindsOut = try Self.transform(kinds, input)
        #expect(kindsOut == "110pi| note |t &lt; umixed&lt;&amp;&gt;[c]")
    }

    @Test func builtInRulesCopyTextOnly() throws {
        #expect(try Self.transform(Self.sheet(""), "<a>one<b x='no'>two</b>three</a>") == "onetwothree")
    }

    @Test func priorityFollowsXSLT10DefaultsThenStylesheetOrder() throws {
        let stylesheet = Self.sheet("""
            <xsl:template match="/"><r><xsl:apply-templates select="//item"/></r></xsl:template>
            <xsl:template match="*">[any]</xsl:template>
            <xsl:template match="item">[item]</xsl:template>
            <xsl:template match="item[@kind='x']">[item x]</xsl:template>
            <xsl:template match="list/item[3]">[third]</xsl:template>
            <xsl:template match="item[@kind='y']" priority="-1">[low]</xsl:template>
            """)
        let input = #"<list><item/><item kind="x"/><item kind="y"/><other/></list>"#
        // The third item matches [third] and [low]; [third] has 0.5. The last item-named rule wins ties.
        #expect(try Self.transform(stylesheet, input) == "<r>[item][item x][third]</r>")
    }

    @Test func modesSelectDifferentTemplates() throws {
        let stylesheet = Self.sheet("""
            <xsl:template match="/list">
              <out><xsl:apply-templates select="item" mode="toc"/><xsl:apply-templates select="item"/></out>
            </xsl:template>
            <xsl:template match="item" mode="toc"><toc><xsl:value-of select="@title"/></toc></xsl:template>
            <xsl:template match="item"><body><xsl:value-of select="."/></body></xsl:template>
            """)
        #expect(try Self.transform(stylesheet, #"<list><item title="A">a</item><item title="B">b</item></list>"#)
            == "<out><toc>A</toc><toc>B</toc><body>a</body><body>b</body></out>")
    }

    @Test func namedTemplatesTakeParametersAndRecurse() throws {
        let stylesheet = Self.sheet("""
            <xsl:template match="/">
              <xsl:call-template name="repeat">
                <xsl:with-param name="text" select="string(/r/@t)"/>
                <xsl:with-param name="times" select="3"/>
              </xsl:call-template>
              <xsl:call-template name="repeat"/>
            </xsl:template>
            <xsl:template name="repeat">
              <xsl:param name="text">-</xsl:param>
              <xsl:param name="times" select="2"/>
              <xsl:if test="$times &gt; 0">
                <xsl:value-of select="$text"/>
                <xsl:call-template name="repeat">
                  <xsl:with-param name="text" select="$text"/>
                  <xsl:with-param name="times" select="$times - 1"/>
                </xsl:call-template>
              </xsl:if>
            </xsl:template>
            """)
        #expect(try Self.transform(stylesheet, #"<r t="ab"/>"#) == "ababab--")
    }

    @Test func forEachSortsByNumberAndText() throws {
        let stylesheet = Self.sheet("""
            <xsl:template match="/">
              <xsl:for-each select="//Quote"><xsl:sort select="." data-type="number" order="descending"/><xsl:value-of select="@symbol"/>,</xsl:for-each>
              <xsl:text>|</xsl:text>
              <xsl:for-each select="//Quote"><xsl:sort select="@symbol"/><xsl:value-of select="position()"/>:<xsl:value-of select="@symbol"/>,</xsl:for-each>
            </xsl:template>
            """)
        let input = #"<q><Quote symbol="MSFT">412.5</Quote><Quote symbol="AAPL">189</Quote><Quote symbol="IBM">1000</Quote></q>"#
        #expect(try Self.transform(stylesheet, input) == "IBM,MSFT,AAPL,|1:AAPL,2:IBM,3:MSFT,")
    }

    @Test func applyTemplatesSortsToo() throws {
        let stylesheet = Self.sheet("""
            <xsl:template match="/r"><xsl:apply-templates select="n"><xsl:sort select="." data-type="number"/></xsl:apply-templates></xsl:template>
            <xsl:template match="n"><xsl:value-of select="."/>;</xsl:template>
            """)
        #expect(try Self.transform(stylesheet, "<r><n>10</n><n>9</n><n>100</n></r>") == "9;10;100;")
    }

    // MARK: SOAP, namespaces, constructors

    @Test func aSOAPResponseUnwrapsToPlainXML() throws {
        let stylesheet = """
            <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:q="urn:quotes" exclude-result-prefixes="soap q">
              <xsl:output method="xml" omit-xml-declaration="yes" />
              <xsl:template match="/">
                <quotes count="{count(soap:Envelope/soap:Body/q:GetQuoteResponse/q:Quote)}">
                  <xsl:for-each select="//q:Quote">
                    <quote>
                      <xsl:attribute name="{translate(@symbol, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')}">
                        <xsl:value-of select="."/>
                      </xsl:attribute>
                      <xsl:value-of select="concat(local-name(), '@', namespace-uri(), ' ', name(..), ' ', position(), '/', last())"/>
                    </quote>
                  </xsl:for-each>
                  <total><xsl:value-of select="sum(//q:Quote)"/></total>
                </quotes>
              </xsl:template>
            </xsl:stylesheet>
            """
        #expect(try Self.transform(stylesheet, Self.soap) == #"<quotes count="2"><quote msft="412.5">Quote@urn:quotes GetQuoteResponse 1/2</quote><quote aapl="189">Quote@urn:quotes GetQuoteResponse 2/2</quote><total>601.5</total></quotes>"#)
    }

    @Test func theUsualNamespaceStrippingTransform() throws {
        // Elements and attributes rebuilt by local name, the SOAP envelope skipped.
        let stylesheet = Self.sheet("""
            <xsl:template match="/"><xsl:apply-templates select="/*/*[local-name()='Body']/*"/></xsl:template>
            <xsl:template match="*"><xsl:element name="{local-name()}"><xsl:apply-templates select="@*|node()"/></xsl:element></xsl:template>
            <xsl:template match="@*"><xsl:attribute name="{local-name()}"><xsl:value-of select="."/></xsl:attribute></xsl:template>
            """)
        #expect(try Self.transform(stylesheet, Self.soap) == #"<GetQuoteResponse><Quote symbol="MSFT">412.5</Quote><Quote symbol="AAPL">189</Quote></GetQuoteResponse>"#)
    }

    @Test func literalResultElementsCarryTheStylesheetsNamespacesUnlessExcluded() throws {
        let stylesheet = #"<xsl:stylesheet version="1.0" \#(Self.xsl) xmlns:a="urn:a" xmlns:b="urn:b" exclude-result-prefixes="b"><xsl:output omit-xml-declaration="yes"/><xsl:template match="/"><a:x><y xsl:exclude-result-prefixes="a"/></a:x></xsl:template></xsl:stylesheet>"#
        #expect(try Self.transform(stylesheet, "<in/>") == #"<a:x xmlns:a="urn:a"><y /></a:x>"#)
    }

    @Test func elementAttributeTextAndCopyOfAFragment() throws {
        let stylesheet = Self.sheet("""
            <xsl:variable name="header"><h level="1">Title</h><xsl:text>!</xsl:text></xsl:variable>
            <xsl:template match="/">
              <xsl:element name="{name(*)}-copy" namespace="urn:c">
                <xsl:attribute name="n"><xsl:value-of select="string-length(normalize-space(/doc))"/></xsl:attribute>
                <xsl:copy-of select="$header"/>
                <xsl:copy-of select="/doc/keep"/>
                <xsl:value-of select="$header"/>
                <xsl:text disable-output-escaping="yes">&lt;raw/&gt;</xsl:text>
              </xsl:element>
            </xsl:template>
            """)
        let out = try Self.transform(stylesheet, "<doc>  a   b <keep k='1'>k</keep><drop/></doc>")
        #expect(out == #"<doc-copy xmlns="urn:c" n="5"><h xmlns="" level="1">Title</h>!<keep xmlns="" k="1">k</keep>Title!<raw/></doc-copy>"#)
    }

    @Test func chooseVariablesAndStringFunctions() throws {
        let stylesheet = Self.sheet("""
            <xsl:template match="/p">
              <xsl:variable name="name" select="normalize-space(name)"/>
              <xsl:choose>
                <xsl:when test="starts-with($name, 'Dr.')">doctor </xsl:when>
                <xsl:when test="contains($name, ' ')">person </xsl:when>
                <xsl:otherwise>other </xsl:otherwise>
              </xsl:choose>
              <xsl:value-of select="substring-before($name, ' ')"/>|<xsl:value-of select="substring-after($name, ' ')"/>|<xsl:value-of select="substring($name, 2, 3)"/>|<xsl:value-of select="substring('12345', 1.5, 2.6)"/>|<xsl:value-of select="substring('12345', 0 div 0, 3)"/>|<xsl:value-of select="translate('bar', 'abc', 'AB')"/>|<xsl:value-of select="round(2.5)"/>,<xsl:value-of select="floor(-1.5)"/>,<xsl:value-of select="ceiling(1.2)"/>,<xsl:value-of select="7 mod 3"/>,<xsl:value-of select="1 div 0"/>,<xsl:value-of select="number('x')"/>,<xsl:value-of select="0.1 + 0.2 &gt; 0.3"/>,<xsl:value-of select="boolean(//none)"/>,<xsl:value-of select="count(*) = 2 and true() and not(false())"/>
            </xsl:template>
            """)
        #expect(try Self.transform(stylesheet, "<p><name>  Ada   Lovelace </name><x/></p>")
            == "person Ada|Lovelace|da |234||BAr|3,-2,2,1,Infinity,NaN,true,false,true")
    }

    @Test func axesAndPredicates() throws {
        let stylesheet = Self.sheet("""
            <xsl:template match="/">
              <xsl:value-of select="count(//b[2]/preceding-sibling::*)"/>,<xsl:value-of select="name(//c/ancestor::*[last()])"/>,<xsl:value-of select="//b[last()]/@i"/>,<xsl:value-of select="count(//b/following::*)"/>,<xsl:value-of select="count(//@*)"/>,<xsl:value-of select="count(/r/descendant-or-self::node())"/>,<xsl:value-of select="//b[@i &gt;= 2][1]/@i"/>,<xsl:value-of select="count(//b[text()])"/>,<xsl:value-of select="(//b | //c)[2]/@i"/>,<xsl:value-of select="//c/../@i"/>
            </xsl:template>
            """)
        let out = try Self.transform(stylesheet, #"<r><b i="1">x</b><b i="2"><c/></b><b i="3"/></r>"#)
        #expect(out == "1,r,3,3,3,6,2,1,2,2")
    }

    // MARK: Output

    @Test func outputMethodsTextAndHTML() throws {
        let text = Self.sheet(#"<xsl:template match="/">a &lt; b <x>c</x></xsl:template>"#, output: #"<xsl:output method="text"/>"#)
        let (bytes, method) = try XSLTRun.transform(try Self.compile(text), body: Array("<r/>".utf8), parameters: [:], limits: XSLTLimits())
        #expect(String(decoding: bytes, as: UTF8.self) == "a < b c")
        #expect(method == .text)
        let html = Self.sheet(#"<xsl:template match="/"><html><body><p class="a&amp;b">x &amp; y</p><br/></body></html></xsl:template>"#, output: "")
        #expect(try Self.transform(html, "<r/>") == #"<html><body><p class="a&amp;b">x &amp; y</p><br></body></html>"#)
        let declared = Self.sheet(#"<xsl:template match="/"><a><b/></a></xsl:template>"#, output: "")
        #expect(try Self.transform(declared, "<r/>") == #"<?xml version="1.0" encoding="utf-8"?><a><b /></a>"#)
    }

    @Test func whitespaceIsKeptInXSLTextOnly() throws {
        let stylesheet = Self.sheet("""
            <xsl:template match="/r"><xsl:for-each select="i"><xsl:value-of select="."/><xsl:text> </xsl:text></xsl:for-each><xsl:text>
            </xsl:text><l:text> </l:text><o>  </o></xsl:template>
            """.replacingOccurrences(of: "<l:text>", with: #"<l:text xmlns:l="urn:l">"#), output: #"<xsl:output method="xml" omit-xml-declaration="yes"/>"#)
        #expect(try Self.transform(stylesheet, "<r><i>a</i><i>b</i></r>") == "a b \n<l:text xmlns:l=\"urn:l\" /><o />")
    }

    @Test func indentationStopsInsideMixedContent() throws {
        let stylesheet = Self.sheet(#"<xsl:template match="/"><a><b>text<i>x</i></b><c><d/></c></a></xsl:template>"#,
                                    output: #"<xsl:output omit-xml-declaration="yes" indent="yes"/>"#)
        #expect(try Self.transform(stylesheet, "<r/>") == "<a>\n  <b>text<i>x</i></b>\n  <c>\n    <d />\n  </c>\n</a>")
    }

    // MARK: Limits and errors

    @Test func runawayRecursionFailsCleanly() throws {
        let stylesheet = Self.sheet(#"<xsl:template match="/"><xsl:call-template name="loop"/></xsl:template><xsl:template name="loop"><x><xsl:call-template name="loop"/></x></xsl:template>"#)
        #expect(throws: XSLTError.self) { try Self.transform(stylesheet, "<r/>") }
        do { _ = try Self.transform(stylesheet, "<r/>") } catch { #expect("\(error)".contains("nested deeper than 200"), "\(error)") }
        // The identity transform recurses once per level of the body: 190 levels run, the parser's 256 fail cleanly.
        let identity = Self.sheet(#"<xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>"#)
        let deep = String(repeating: "<a>", count: 190) + String(repeating: "</a>", count: 190)
        #expect(try Self.transform(identity, deep) == String(repeating: "<a>", count: 189) + "<a />" + String(repeating: "</a>", count: 189))
        let deepest = String(repeating: "<a>", count: 256) + String(repeating: "</a>", count: 256)
        do { _ = try Self.transform(identity, deepest); Issue.record("ran") } catch { #expect("\(error)".contains("nested deeper than 200"), "\(error)") }
    }

    @Test func theStepBudgetAndTheOutputLimitStopHostileWork() throws {
        let input = "<r>" + String(repeating: "<i>x</i>", count: 400) + "</r>"
        let quadratic = Self.sheet(#"<xsl:template match="/"><xsl:value-of select="count(//i[count(//i) &gt; 0])"/></xsl:template>"#)
        var limits = XSLTLimits()
        limits.maximumSteps = 50_000
        do { _ = try Self.transform(quadratic, input, limits: limits); Issue.record("ran") } catch { #expect("\(error)".contains("more than 50000 steps"), "\(error)") }
        #expect(try Self.transform(quadratic, input) == "400")  // within the default budget
        // String-values of nested elements are charged by the text they walk (150 levels × 100 KB here).
        let deepText = String(repeating: "<a>", count: 150) + String(repeating: "x", count: 100_000) + String(repeating: "</a>", count: 150)
        let comparing = Self.sheet(#"<xsl:template match="/"><xsl:value-of select="count(//a[. = 'y'])"/></xsl:template>"#)
        limits.maximumSteps = 20_000
        do { _ = try Self.transform(comparing, deepText, limits: limits); Issue.record("ran") } catch { #expect("\(error)".contains("more than 20000 steps"), "\(error)") }
        #expect(try Self.transform(comparing, deepText) == "0")
        let doubling = Self.sheet("""
            <xsl:template match="/"><xsl:call-template name="grow"><xsl:with-param name="s" select="'xxxxxxxx'"/></xsl:call-template></xsl:template>
            <xsl:template name="grow"><xsl:param name="s"/><xsl:call-template name="grow"><xsl:with-param name="s" select="concat($s, $s)"/></xsl:call-template></xsl:template>
            """)
        limits = XSLTLimits()
        limits.maximumOutputBytes = 1 << 16
        do { _ = try Self.transform(doubling, "<r/>", limits: limits); Issue.record("ran") } catch { #expect("\(error)".contains("65536 bytes"), "\(error)") }
        let fragments = Self.sheet(#"<xsl:variable name="f"><e/><e/><e/><e/><e/><e/><e/><e/></xsl:variable><xsl:template match="/"><xsl:for-each select="//i"><xsl:for-each select="//i"><xsl:copy-of select="$f"/></xsl:for-each></xsl:for-each></xsl:template>"#)
        do { _ = try Self.transform(fragments, input, limits: limits); Issue.record("ran") } catch { #expect("\(error)".contains("65536 bytes"), "\(error)") }
        let big = Self.sheet(#"<xsl:template match="/"><xsl:for-each select="//i"><xsl:copy-of select="/"/></xsl:for-each></xsl:template>"#)
        do { _ = try Self.transform(big, input, limits: limits); Issue.record("ran") } catch { #expect("\(error)".contains("65536 bytes"), "\(error)") }
    }

    @Test func aBodyThatIsNotXMLIsAnError() throws {
        let identity = Self.sheet(#"<xsl:template match="/"><xsl:copy-of select="."/></xsl:template>"#)
        for body in ["", #"{"a":1}"#, "<a><b></a>", "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"] {
            do { _ = try Self.transform(identity, body); Issue.record("\(body) transformed") } catch {
                #expect("\(error)".hasPrefix("The body is not XML: "), "\(error)")
            }
        }
        let terminate = Self.sheet(#"<xsl:template match="/"><xsl:message terminate="yes">stop: <xsl:value-of select="name(*)"/></xsl:message></xsl:template>"#)
        do { _ = try Self.transform(terminate, "<bad/>"); Issue.record("ran") } catch { #expect("\(error)".contains("stop: bad"), "\(error)") }
    }

    @Test func whatTheSubsetRefusesIsALoadErrorWithItsPosition() {
        func refused(_ body: String) -> String { Self.compileError(Self.sheet(body, output: "")) }
        #expect(refused(#"<xsl:import href="a.xsl"/>"#) == "1:80: '<xsl:import>' is not supported: a stylesheet never reads files or the network")
        #expect(refused(#"<xsl:include href="a.xsl"/>"#).contains("'<xsl:include>' is not supported"))
        #expect(refused(#"<xsl:template match="/"><xsl:copy-of select="document('file:///etc/passwd')"/></xsl:template>"#)
            == "1:125: the 'select' of '<xsl:copy-of>': the function 'document()' is not supported")
        #expect(refused(#"<xsl:template match="/"><xsl:number/></xsl:template>"#).contains("1:104: the instruction '<xsl:number>' is not supported"))
        #expect(refused(#"<xsl:template match="/"><xsl:value-of select="ext:now()"/></xsl:template>"#).contains("extension function 'ext:now()'"))
        #expect(refused(#"<xsl:template match="/"><xsl:value-of select="upper-case('a')"/></xsl:template>"#).contains("'upper-case()' is not an XPath 1.0 or XSLT 1.0 function"))
        #expect(refused(#"<xsl:template match="ancestor::a"/>"#).contains("only the child and attribute axes"))
        #expect(refused(#"<xsl:template match="/"><xsl:call-template name="nowhere"/></xsl:template>"#).contains("no template is named 'nowhere'"))
        #expect(refused(#"<xsl:template match="/"><xsl:value-of select="concat('a')"/></xsl:template>"#).contains("takes at least 2 argument(s), not 1"))
        #expect(refused(#"<xsl:template match="/"><xsl:value-of select="a["/></xsl:template>"#).contains("1:126: the 'select' of '<xsl:value-of>': expected a step, found end of expression"))
        #expect(refused(#"<xsl:key name="k" match="a" use="b"/>"#).contains("'<xsl:key>' is not supported"))
        #expect(refused(#"<xsl:preserve-space elements="*"/>"#).contains("whitespace-only text"))
        #expect(refused(#"<xsl:template match="/"><xsl:text> <b/></xsl:text></xsl:template>"#).contains("may hold only text"))
        #expect(refused(#"<xsl:template match="/"><xsl:value-of select="$nope"/></xsl:template>"#).contains("refers to '$nope', which is not declared in scope"))
        #expect(refused(#"<xsl:template match="/"><xsl:if test="1"><xsl:variable name="v" select="1"/></xsl:if><a b="{$v}"/></xsl:template>"#).contains("refers to '$v'"))
        #expect(refused(#"<xsl:variable name="a" select="$b"/><xsl:variable name="b" select="1"/>"#).contains("refers to '$b', which is not declared before it"))
        #expect(refused(#"<xsl:param name="a"/><xsl:variable name="a"/>"#).contains("named 'a' is already declared"))
        // In scope: a template's parameters, earlier siblings, every top-level name (declared after the template too).
        #expect(refused(#"<xsl:template match="/"><xsl:param name="p"/><xsl:variable name="v" select="$p"/><x a="{$v}{$g}"><xsl:value-of select="$v"/></x></xsl:template><xsl:variable name="g"/>"#) == "compiled")
        // Expressions are bounded so that no tree can be deep enough to exhaust the stack.
        let chain = Array(repeating: "a", count: 200).joined(separator: " | ")
        #expect(refused(#"<xsl:template match="/"><xsl:value-of select="\#(chain)"/></xsl:template>"#).contains("more than 128 operators"))
        let nested = String(repeating: "(", count: 40) + "1" + String(repeating: ")", count: 40)
        #expect(refused(#"<xsl:template match="/"><xsl:value-of select="\#(nested)"/></xsl:template>"#).contains("nested deeper than 32 levels"))
        let script = #"<xsl:stylesheet version="1.0" \#(Self.xsl) xmlns:msxsl="urn:schemas-microsoft-com:xslt"><msxsl:script language="C#">x</msxsl:script></xsl:stylesheet>"#
        #expect(Self.compileError(script).contains("'<msxsl:script>' is not supported: no scripts or extensions"))
        #expect(Self.compileError(#"<xsl:stylesheet version="2.0" \#(Self.xsl)/>"#).contains("only XSLT version 1.0"))
        #expect(Self.compileError(#"<stylesheet version="1.0"/>"#).contains("expected '<xsl:stylesheet>'"))
    }
}
