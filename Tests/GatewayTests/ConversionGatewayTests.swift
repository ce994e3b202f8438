import Foundation
import GatewayConfiguration
import Testing

@testable import Gateway

/// `json-to-xml` and `xml-to-json` end to end: curl through a real gateway; the echo backend's JSON
/// answer converted to XML (when the client accepts XML), and back to JSON.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct ConversionGatewayTests {
    @Test func theEchoAnswerIsConvertedBothWays() async throws {
        let toXML = FileManager.default.temporaryDirectory.appendingPathComponent("to-xml-\(UUID().uuidString).xml").path
        try """
            <policies><inbound /><backend><forward-request /></backend>
            <outbound><json-to-xml apply="content-type-json" consider-accept-header="true" /></outbound><on-error /></policies>
            """.write(toFile: toXML, atomically: true, encoding: .utf8)
        let roundTrip = FileManager.default.temporaryDirectory.appendingPathComponent("round-\(UUID().uuidString).xml").path
        try """
            <policies><inbound /><backend><forward-request /></backend>
            <outbound>
              <json-to-xml apply="always" consider-accept-header="false" />
              <xml-to-json kind="direct" apply="content-type-xml" consider-accept-header="false" />
            </outbound><on-error /></policies>
            """.write(toFile: roundTrip, atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(atPath: toXML)
            try? FileManager.default.removeItem(atPath: roundTrip)
        }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.apis[1].policyFile = toXML })
        func call(_ accept: String) async throws -> Curl.Result {
            try await Curl.run(SecurityProbeTests.common(gateway) + ["--http1.1", "--max-time", "10", "-i", "-H", "Accept: \(accept)",
                                                                     "\(gateway.baseURL)/public/convert"])
        }
        let xml = try await call("application/xml")
        #expect(xml.httpCode == 200, "\(xml.body)")
        #expect(xml.body.lowercased().contains("content-type: application/xml"), "\(xml.body)")
        #expect(xml.body.contains("<Document>") && xml.body.contains("<method>GET</method>"), "\(xml.body)")
        let json = try await call("application/json")  // not asking for XML: left as JSON
        #expect(json.body.contains(#""method":"GET""#), "\(json.body)")
        #expect(!json.body.contains("<Document>"))
        try await gateway.stop()

        let second = try await TestGateway.start(tweaking: { config, _, _ in config.apis[1].policyFile = roundTrip })
        let back = try await Curl.run(SecurityProbeTests.common(second) + ["--http1.1", "--max-time", "10", "-i", "\(second.baseURL)/public/convert"])
        #expect(back.httpCode == 200, "\(back.body)")
        #expect(back.body.lowercased().contains("content-type: application/json"), "\(back.body)")
        #expect(back.body.contains(#"{"Document":{"#) && back.body.contains(#""method":"GET""#), "\(back.body)")
        try await second.stop()
    }
}
