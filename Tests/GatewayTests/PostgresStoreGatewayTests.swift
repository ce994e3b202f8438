import Foundation
import Gateway
import NIOPosix
import Testing

/// Two gateway processes on one PostgreSQL store (`DRAWBRIDGE_TEST_POSTGRES`, see `.ci/run`): what
/// one node's admin API commits, the other serves as soon as it is announced; a node started later
/// serves it from the start.
@Suite(.serialized, .enabled(if: Curl.isAvailable && ProcessInfo.processInfo.environment["DRAWBRIDGE_TEST_POSTGRES"] != nil
                              && FileManager.default.isExecutableFile(atPath: "/usr/bin/psql")))
struct PostgresStoreGatewayTests {
    static func freshDatabase() async throws -> String {
        let base = try #require(ProcessInfo.processInfo.environment["DRAWBRIDGE_TEST_POSTGRES"])
        let name = "drawbridge_gw_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let created = try await OffPool.run { () -> Int32 in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
            process.arguments = [base, "-q", "-c", "CREATE DATABASE \(name)"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        #expect(created == 0)
        var components = try #require(URLComponents(string: base))
        components.path = "/" + name
        return try #require(components.string)
    }

    @Test func twoNodesServeOneConfiguration() async throws {
        let pki = try await SharedPKI.shared.pki()
        let echo = try await EchoBackend.start(group: MultiThreadedEventLoopGroup.singleton)
        defer { Task { await echo.stop() } }
        let database = try await Self.freshDatabase()
        let folder = try CLITests.temporaryFolder()
        let first = try await StoreCLITests.Served.start(store: folder + "/node1", extraArguments: ["--database", database])
        defer { first.stop() }
        func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
        for (path, body) in [
            ("/ca-certificates/root", ["pem": try text(pki.rootCA)]),
            ("/ca-certificates/intermediate", ["pem": try text(pki.intermediateCA)]),
            ("/certificates/localhost", ["pem": try text(pki.serverCertificate), "key": try text(pki.serverKey)]),
            ("/hostnames/localhost", ["certificate": "localhost", "clientCertificate": "negotiate"]),
            ("/apis/echo", ["path": "/echo", "backend": "http://127.0.0.1:\(echo.port)", "requireTrustedClientCertificate": "true"]),
        ] as [(String, [String: String])] {
            let json: [String: Any] = body.mapValues { $0 == "true" ? true as Any : $0 as Any }
            let answer = try await first.admin("PUT", path, json: json)
            #expect(answer.status == 201, "\(path): \(answer)")
        }
        #expect(try await first.get("/echo/a", pki: pki, certificate: true).httpCode == 200)

        // A second node on the same database (its own files folder; the first node's token).
        let second = try await StoreCLITests.Served.start(store: folder + "/node2", extraArguments: ["--database", database])
        defer { second.stop() }
        #expect(try await second.get("/echo/a", pki: pki, certificate: true).httpCode == 200)
        #expect(try await second.get("/echo/a", pki: pki, certificate: false).httpCode == 403)
        let status = try await TestAdminGateway.call(adminURL: second.adminURL, "GET", "/status", token: first.token)
        #expect(status.status == 200, "one token table for both nodes: \(status)")

        // A change on the first node: in force there when answered, on the second as soon as the
        // commit is announced (LISTEN/NOTIFY), without a signal.
        let clock = ContinuousClock()
        let committed = clock.now
        #expect(try await first.admin("PUT", "/apis/echo/policy", raw: """
            <policies><inbound><return-response><set-status code="418" reason="Node one" /></return-response></inbound>
            <backend><forward-request /></backend><outbound /><on-error /></policies>
            """).status == 201)
        #expect(try await first.get("/echo/a", pki: pki, certificate: true).httpCode == 418)
        var answered: Int?
        for _ in 0..<100 {
            answered = try await second.get("/echo/a", pki: pki, certificate: true).httpCode
            if answered == 418 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(answered == 418)
        print("second node enforces the first node's change \(committed.duration(to: clock.now)) after the PUT was sent (curl included)")
        // And the other way round.
        #expect(try await TestAdminGateway.call(adminURL: second.adminURL, "DELETE", "/apis/echo/policy", token: first.token).status == 204)
        var back: Int?
        for _ in 0..<100 {
            back = try await first.get("/echo/a", pki: pki, certificate: true).httpCode
            if back == 200 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(back == 200)
    }
}
