import Foundation
import Testing

@testable import Policies

/// `xsl-transform` through the pipeline: the request's body in inbound (parameters from
/// expressions), the backend's answer in outbound, non-XML bodies failing closed through on-error,
/// and what is refused at load.
@Suite struct XSLTransformRuntimeTests {
    static let xsl = #"xmlns:xsl="http://www.w3.org/1999/XSL/Transform""#

    func contentType(_ headers: [PolicyHeader]) -> String? { headers.first { $0.name.lowercased() == "content-type" }?.value }

    @Test func theRequestBodyIsTransformedWithParametersFromExpressions() async throws {
        let policy = """
            <xsl-transform>
              <parameter name="User-Agent">@(context.Request.Headers.GetValueOrDefault("User-Agent","non-specified"))</parameter>
              <parameter parameter-name="op">@(context.Operation.Id)</parameter>
              <parameter name="fixed">literal</parameter>
              <xsl:stylesheet version="1.0" \(Self.xsl)>
                <xsl:output omit-xml-declaration="yes" />
                <xsl:param name="User-Agent" />
                <xsl:param name="op" />
                <xsl:param name="fixed" />
                <xsl:param name="unset" select="'default'" />
                <xsl:template match="/order">
                  <order agent="{$User-Agent}" op="{$op}" fixed="{$fixed}" unset="{$unset}"><xsl:copy-of select="item" /></order>
                </xsl:template>
              </xsl:stylesheet>
            </xsl-transform>
            """
        let backend = RecordingBackend()
        let (result, sent) = try await execute(
            document(inbound: policy),
            request(method: "POST", headers: [PolicyHeader("User-Agent", "curl/8.5"), PolicyHeader("Content-Type", "text/xml; charset=utf-8")]),
            body: CountingBody(#"<order><item sku="a">2</item><junk/></order>"#), backend: backend)
        #expect(result.status == 200)
        guard case .bytes(let bytes)? = sent.first?.body else { Issue.record("the body was not replaced"); return }
        #expect(String(decoding: bytes, as: UTF8.self) == #"<order agent="curl/8.5" op="get-item" fixed="literal" unset="default"><item sku="a">2</item></order>"#)
        #expect(contentType(sent.first?.headers ?? []) == "text/xml; charset=utf-8")  // an XML type is kept
    }

    @Test func theBackendsSOAPAnswerIsTransformedInOutbound() async throws {
        let soap = #"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><AddResponse xmlns="http://tempuri.org/"><AddResult>5</AddResult></AddResponse></s:Body></s:Envelope>"#
        let policy = """
            <xsl-transform>
              <xsl:stylesheet version="1.0" \(Self.xsl) xmlns:t="http://tempuri.org/">
                <xsl:output method="text" />
                <xsl:template match="/">{"sum":<xsl:value-of select="//t:AddResult" />}</xsl:template>
              </xsl:stylesheet>
            </xsl-transform>
            """
        let backend = RecordingBackend(status: 200, headers: [PolicyHeader("Content-Type", "text/xml")], body: soap)
        let (result, _) = try await execute(document(outbound: policy), backend: backend)
        #expect(result.bodyText == #"{"sum":5}"#)
        #expect(contentType(result.headers) == "text/plain; charset=utf-8")
        let typed = policy.replacingOccurrences(of: #"method="text""#, with: #"method="text" media-type="application/json""#)
        let (json, _) = try await execute(document(outbound: typed), backend: backend)
        #expect(contentType(json.headers) == "application/json")
        // Method xml on a body labelled as something else: application/xml.
        let identity = """
            <xsl-transform><xsl:stylesheet version="1.0" \(Self.xsl)><xsl:output omit-xml-declaration="yes" />
            <xsl:template match="/"><xsl:copy-of select="." /></xsl:template></xsl:stylesheet></xsl-transform>
            """
        let mislabelled = RecordingBackend(status: 200, headers: [PolicyHeader("Content-Type", "text/plain")], body: "<a>1</a>")
        let (xml, _) = try await execute(document(outbound: identity), backend: mislabelled)
        #expect(xml.bodyText == "<a>1</a>")
        #expect(contentType(xml.headers) == "application/xml")
    }

    @Test func aBodyThatIsNotXMLFailsClosedThroughOnError() async throws {
        let policy = """
            <xsl-transform><xsl:stylesheet version="1.0" \(Self.xsl)>
            <xsl:template match="/"><x /></xsl:template></xsl:stylesheet></xsl-transform>
            """
        let onError = """
            <set-header name="ErrorReason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>
            <set-header name="ErrorMessage" exists-action="override"><value>@(context.LastError.Message)</value></set-header>
            <set-header name="ErrorSource" exists-action="override"><value>@(context.LastError.Source)</value></set-header>
            """
        let backend = RecordingBackend(status: 200, headers: [PolicyHeader("Content-Type", "application/json")], body: #"{"a":1}"#)
        let (result, _) = try await execute(document(outbound: policy, onError: onError), backend: backend)
        #expect(result.status == 500)
        let headers = Dictionary(result.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(headers["ErrorReason"] == "XslTransformFailed")
        #expect(headers["ErrorSource"] == "xsl-transform")
        #expect(headers["ErrorMessage"]?.hasPrefix("The body is not XML: ") == true, "\(headers)")
        // Without on-error: APIM's generic 500, and the backend's JSON is not passed through.
        let (plain, _) = try await execute(document(outbound: policy), backend: backend)
        #expect(plain.status == 500)
        #expect(plain.bodyText?.contains(#""a":1"#) != true)
        // A GET without a body in inbound: nothing to transform is not XML either.
        let (empty, sent) = try await execute(document(inbound: policy))
        #expect(empty.status == 500)
        #expect(sent.isEmpty)
    }

    @Test func loadErrorsNameThePolicyAndThePlace() {
        let sheet = #"<xsl:stylesheet version="1.0" \#(Self.xsl)><xsl:template match="/"><xsl:number /></xsl:template></xsl:stylesheet>"#
        let errors = loadErrors("<xsl-transform>\(sheet)</xsl-transform>")
        #expect(errors == ["test.xml:1:138: xsl-transform: the instruction '<xsl:number>' is not supported by Drawbridge's XSLT subset"], "\(errors)")
        #expect(loadErrors("<xsl-transform />").first?.contains("requires an '<xsl:stylesheet>'") == true)
        #expect(loadErrors(#"<xsl-transform><parameter>x</parameter>\#(sheet)</xsl-transform>"#).first?.contains("exactly one of 'name' or 'parameter-name'") == true)
        #expect(loadErrors(#"<xsl-transform><other />\#(sheet)</xsl-transform>"#).first?.contains("unexpected element '<other>'") == true)
        let good = #"<xsl:stylesheet version="1.0" \#(Self.xsl)><xsl:template match="/" /></xsl:stylesheet>"#
        #expect(loadErrors("<xsl-transform>\(good)</xsl-transform>", section: .backend).first?.contains("backend") == true)
        #expect(loadErrors("<xsl-transform>\(good)</xsl-transform>", section: .onError).first?.contains("on-error") == true)
        // A parameter's expression is compiled with the pipeline, like any policy expression.
        #expect(throws: (any Error).self) { _ = try pipeline(document(inbound: #"<xsl-transform><parameter name="p">@(context.Nope)</parameter>\#(good)</xsl-transform>"#)) }
        #expect(loadErrors("<xsl-transform>\(good)</xsl-transform>").isEmpty)
        #expect(loadErrors("<xsl-transform>\(good)</xsl-transform>", section: .outbound).isEmpty)
    }
}
