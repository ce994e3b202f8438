import Foundation
import GatewayConfiguration
import Testing

@testable import Gateway

/// `xsl-transform` end to end: curl through a real gateway to a backend answering SOAP; the
/// outbound stylesheet (compiled at load) unwraps the envelope into plain XML, with a parameter
/// from the client's request; a backend answering JSON fails closed through on-error, as does runaway
/// recursion, while a 190-level identity transform runs on the gateway's own threads.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct XSLTransformGatewayTests {
    static func raw(_ contentType: String, _ body: String) -> DocumentServer.Response {
        let bytes = Array(body.utf8)
        let head = "HTTP/1.1 200 OK\r\nContent-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        return DocumentServer.Response(raw: Array(head.utf8) + bytes, stalls: false)
    }

    static let soap = """
        <?xml version="1.0" encoding="utf-8"?>
        <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
          <soap:Body>
            <GetQuotesResponse xmlns="urn:quotes">
              <Quote symbol="MSFT"><Price>412.5</Price></Quote>
              <Quote symbol="AAPL"><Price>189</Price></Quote>
            </GetQuotesResponse>
          </soap:Body>
        </soap:Envelope>
        """

    @Test func aSOAPAnswerIsUnwrappedIntoPlainXML() async throws {
        let backend = try await DocumentServer.start()
        backend.set("/quotes", Self.raw("text/xml; charset=utf-8", Self.soap))
        backend.set("/json", .json(#"{"not":"xml"}"#))
        let deep = String(repeating: "<a>", count: 190) + "x" + String(repeating: "</a>", count: 190)
        backend.set("/deep", Self.raw("application/xml", deep))
        let policy = FileManager.default.temporaryDirectory.appendingPathComponent("xslt-\(UUID().uuidString).xml").path
        try """
            <policies>
              <inbound />
              <backend><forward-request /></backend>
              <outbound>
                <choose>
                  <when condition="@(context.Request.Headers.ContainsKey(&quot;X-Loop&quot;))">
                    <xsl-transform>
                      <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
                        <xsl:template match="/"><xsl:call-template name="loop" /></xsl:template>
                        <xsl:template name="loop"><x><xsl:call-template name="loop" /></x></xsl:template>
                      </xsl:stylesheet>
                    </xsl-transform>
                  </when>
                  <when condition="@(context.Request.Headers.ContainsKey(&quot;X-Identity&quot;))">
                    <xsl-transform>
                      <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
                        <xsl:output omit-xml-declaration="yes" />
                        <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()" /></xsl:copy></xsl:template>
                      </xsl:stylesheet>
                    </xsl-transform>
                  </when>
                  <otherwise>
                    <xsl-transform>
                      <parameter name="client">@(context.Request.Headers.GetValueOrDefault("X-Client", "anonymous"))</parameter>
                      <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                          xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:q="urn:quotes" exclude-result-prefixes="soap q">
                        <xsl:output method="xml" omit-xml-declaration="yes" indent="yes" />
                        <xsl:param name="client" />
                        <xsl:template match="/soap:Envelope">
                          <quotes for="{$client}" count="{count(soap:Body/q:GetQuotesResponse/q:Quote)}">
                            <xsl:apply-templates select="soap:Body/q:GetQuotesResponse/q:Quote">
                              <xsl:sort select="q:Price" data-type="number" />
                            </xsl:apply-templates>
                          </quotes>
                        </xsl:template>
                        <xsl:template match="q:Quote">
                          <quote symbol="{@symbol}"><xsl:value-of select="q:Price" /></quote>
                        </xsl:template>
                      </xsl:stylesheet>
                    </xsl-transform>
                  </otherwise>
                </choose>
              </outbound>
              <on-error>
                <set-header name="X-Error" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>
              </on-error>
            </policies>
            """.write(toFile: policy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis[1].policyFile = policy
            config.apis[1].backendURL = backend.baseURL
            config.apis[1].pathPrefix = "/"
        })
        func call(_ path: String, _ headers: [String] = []) async throws -> Curl.Result {
            var arguments = SecurityProbeTests.common(gateway) + ["--http1.1", "--max-time", "10", "-i"]
            for header in headers { arguments += ["-H", header] }
            return try await Curl.run(arguments + ["\(gateway.baseURL)\(path)"])
        }
        let quotes = try await call("/quotes", ["X-Client: curl-e2e"])
        #expect(quotes.httpCode == 200, "\(quotes.stdout) \(quotes.stderr)")
        #expect(quotes.body.lowercased().contains("content-type: text/xml; charset=utf-8"), "\(quotes.body)")
        #expect(quotes.body.hasSuffix("""
            \r\n\r\n<quotes for="curl-e2e" count="2">
              <quote symbol="AAPL">189</quote>
              <quote symbol="MSFT">412.5</quote>
            </quotes>
            """), "\(quotes.body)")
        let anonymous = try await call("/quotes")
        #expect(anonymous.body.contains(#"<quotes for="anonymous" count="2">"#), "\(anonymous.body)")
        // JSON is not XML: fail closed through on-error (APIM's 500), nothing of the backend's body passes.
        let json = try await call("/json")
        #expect(json.httpCode == 500, "\(json.stdout)")
        #expect(json.body.lowercased().contains("x-error: xsltransformfailed"), "\(json.body)")
        #expect(!json.body.contains(#""not":"xml""#), "\(json.body)")
        // Runaway recursion and a deep body, on the gateway's own threads: an error, and a 190-level identity transform.
        let loop = try await call("/quotes", ["X-Loop: 1"])
        #expect(loop.httpCode == 500, "\(loop.stdout)")
        #expect(loop.body.lowercased().contains("x-error: xsltransformfailed"), "\(loop.body)")
        let identity = try await call("/deep", ["X-Identity: 1"])
        #expect(identity.httpCode == 200, "\(identity.stdout)")
        #expect(identity.body.hasSuffix("\r\n\r\n" + deep), "\(identity.body.suffix(200))")
        // The gateway goes on serving.
        #expect(try await call("/quotes").httpCode == 200)
        try await gateway.stop()
        await backend.stop()
    }
}
