import Foundation
@testable import Gateway
import GatewayConfiguration
import NIOPosix
import Testing

/// W3C `traceparent` to backends: the client's trace id kept with a new span id, a new trace when the
/// client sent none (or a malformed one); driven by curl over both protocols, with and without policies.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl (.ci/run installs it)"))
struct TraceParentTests {
    static let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func parsesVersion00AndRejectsWhatTheSpecificationRejects() {
        let parsed = TraceParent.parse(Self.incoming)
        #expect(parsed?.traceIdHex == "4bf92f3577b34da6a3ce929d0e0e4736" && parsed?.spanId == 0x00f0_67aa_0ba9_02b7 && parsed?.flags == 1)
        #expect(parsed?.headerValue == Self.incoming)
        for bad in ["", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
                    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero span id
                    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // version 00 with more
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
                    "\u{1b}[31m-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"] {
            #expect(TraceParent.parse(bad) == nil, "\(bad)")
        }
        // A later version: its first fields are read, the rest ignored.
        #expect(TraceParent.parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future")?.spanId == 0x00f0_67aa_0ba9_02b7)
        // New ids differ and are not zero.
        let ids = Set((0..<1000).map { _ in TraceParent.next(after: nil).spanId })
        #expect(ids.count == 1000 && !ids.contains(0))
    }

    /// The `traceparent` the echo backend received.
    static func received(_ result: Curl.Result) -> String? {
        let json = try? JSONSerialization.jsonObject(with: Data(result.body.utf8)) as? [String: Any]
        return (json?["headers"] as? [String: String])?["traceparent"]
    }

    @Test func backendsGetTheClientsTraceWithANewSpanOrANewTrace() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-trace-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try """
        <policies><inbound><base /><set-header name="x-policy" exists-action="override"><value>yes</value></set-header></inbound>
        <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
        """.write(toFile: folder + "/policy.xml", atomically: true, encoding: .utf8)
        let gateway = try await TestGateway.start(tweaking: { config, _, echoPort in
            config.apis.append(APIConfig(name: "policed", pathPrefix: "/policed", backendURL: "http://127.0.0.1:\(echoPort)",
                                         policyFile: folder + "/policy.xml"))
        })
        let base = ["--cacert", gateway.pki.rootCA, "--resolve", "localhost:\(gateway.port):127.0.0.1"]
        for flag in ["--http1.1", "--http2"] {
            for path in ["/public/x", "/policed/x"] {
                let given = try await Curl.run(base + [flag, "-H", "traceparent: \(Self.incoming)", gateway.baseURL + path])
                #expect(given.httpCode == 200, "\(given.stderr)")
                let forwarded = try #require(Self.received(given).flatMap(TraceParent.parse), "\(flag) \(path): \(given.body)")
                #expect(forwarded.traceIdHex == "4bf92f3577b34da6a3ce929d0e0e4736" && forwarded.flags == 1)
                #expect(forwarded.spanId != 0x00f0_67aa_0ba9_02b7)

                let none = try await Curl.run(base + [flag, gateway.baseURL + path])
                let created = try #require(Self.received(none).flatMap(TraceParent.parse), "\(flag) \(path): \(none.body)")
                #expect(created.traceIdHex != "4bf92f3577b34da6a3ce929d0e0e4736" && created.flags == 1)

                let malformed = try await Curl.run(base + [flag, "-H", "traceparent: 00-XYZ", gateway.baseURL + path])
                let replaced = Self.received(malformed)
                #expect(replaced.flatMap(TraceParent.parse) != nil && replaced != "00-XYZ", "\(String(describing: replaced))")
            }
        }
        try await gateway.stop()
    }
}
