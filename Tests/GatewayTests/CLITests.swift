import Foundation
import Gateway
import NIOConcurrencyHelpers
import NIOPosix
import Testing

/// The `drawbridge` executable as an operator runs it: `check`, `--version`, exit codes, the demo's
/// SIGHUP and line-buffered stdout through a pipe.
@Suite(.serialized)
struct CLITests {
    /// The built `drawbridge` next to the test bundle (`swift build`/`swift test` put both in one folder).
    static var executable: URL? {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [folder, folder.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("drawbridge")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    struct Run { let status: Int32; let stdout: String; let stderr: String }

    static func run(_ arguments: [String]) async throws -> Run {
        let executable = try #require(Self.executable, "the drawbridge executable is built beside the tests")
        return try await OffPool.run {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
        }
    }

    static func temporaryFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("openssl \(arguments.first ?? "") failed") }
    }

    @Test func versionPrintsTheVersion() async throws {
        let result = try await Self.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == DrawbridgeVersion.current + "\n")
    }

    @Test func checkListsEveryErrorWithPositionsAndExits1() async throws {
        let folder = try Self.temporaryFolder()
        let yaml = """
        listen: { port: 8443 }
        hostnames:
          - name: api.example.test
            certificate: missing.pem
            key: missing-key.pem
            clientCertificate: sometimes
          - name: b.example.test
            certificate: missing.pem
        apis:
          - name: orders
            path: /orders
            backend: ftp://orders.internal
        limits: { maxHeaderCount: 2 }
        """
        let path = folder + "/gateway.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await Self.run(["check", "--config", path])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        // Four errors, each located in the YAML.
        #expect(lines.contains { $0.hasPrefix("error: \(path):6:24: clientCertificate must be off, negotiate or required") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("error: \(path):7:5: hostname 'b.example.test' needs either") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("error: \(path):12:14: api 'orders': backend must be an absolute") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("error: \(path):13:27:") && $0.contains("maxHeaderCount") }, "\(lines)")
        #expect(lines.last == "\(path): configuration has errors (4 errors, 0 warnings)")
        #expect(!result.stderr.contains("USAGE") && !result.stderr.contains(".build/"))
    }

    @Test func checkWarnsAboutACertificateExpiringIn10DaysAndRefusesAForeignKey() async throws {
        let folder = try Self.temporaryFolder()
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", folder + "/soon-key.pem", "-out", folder + "/soon.pem", "-days", "10", "-subj", "/CN=soon.example.test"])
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", folder + "/other-key.pem", "-out", folder + "/other.pem", "-days", "365", "-subj", "/CN=other.example.test"])
        let good = """
        hostnames:
          - { name: soon.example.test, certificate: soon.pem, key: soon-key.pem }
        apis:
          - { name: echo, path: /echo, backend: "http://127.0.0.1:9" }
        """
        try good.write(toFile: folder + "/good.yaml", atomically: true, encoding: .utf8)
        let ok = try await Self.run(["check", "--config", folder + "/good.yaml"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stderr.contains("warning: hostname 'soon.example.test': server certificate expires in 9 days")
                || ok.stderr.contains("warning: hostname 'soon.example.test': server certificate expires in 10 days"), "\(ok.stderr)")
        #expect(ok.stdout.contains("configuration OK (0 errors, 1 warning)"))

        let mismatched = good.replacingOccurrences(of: "key: soon-key.pem", with: "key: other-key.pem")
        try mismatched.write(toFile: folder + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try await Self.run(["check", "--config", folder + "/bad.yaml"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("error: hostname 'soon.example.test': the private key \(folder)/other-key.pem does not match the certificate \(folder)/soon.pem"), "\(bad.stderr)")
        #expect(!bad.stderr.contains("failedToLoadPrivateKey"))

        // `serve` refuses the same configuration with the same words, without usage text, exit 1.
        let serve = try await Self.run(["serve", "--config", folder + "/bad.yaml"])
        #expect(serve.status == 1)
        #expect(serve.stderr.contains("configuration error: hostname 'soon.example.test': the private key"), "\(serve.stderr)")
        #expect(!serve.stderr.contains("USAGE"))
    }

    @Test func checkListsFileAndPolicyErrorsOfSeveralHostnamesAndAPIsAtOnce() async throws {
        let folder = try Self.temporaryFolder()
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem", "-days", "365", "-subj", "/CN=good.example.test"])
        try "garbage\n".write(toFile: folder + "/garbage.pem", atomically: true, encoding: .utf8)
        try """
        <policies><inbound><set-header name="x" exists-action="override"><value>@(context.Request.Nope)</value></set-header></inbound>
        <backend><forward-request/></backend><outbound/><on-error/></policies>
        """.write(toFile: folder + "/broken.xml", atomically: true, encoding: .utf8)
        try """
        hostnames:
          - { name: good.example.test, certificate: cert.pem, key: key.pem }
          - { name: gone.example.test, certificate: nothere.pem, key: key.pem }
          - { name: pfx.example.test, pkcs12: garbage.pem, password: x }
        apis:
          - { name: broken, path: /broken, backend: "http://127.0.0.1:9", policy: broken.xml }
          - { name: lost, path: /lost, backend: "http://127.0.0.1:9", policy: lost.xml }
          - { name: elsewhere, hostnames: [nowhere.example.test], path: /x, backend: "http://127.0.0.1:9" }
        """.write(toFile: folder + "/gateway.yaml", atomically: true, encoding: .utf8)
        let result = try await Self.run(["check", "--config", folder + "/gateway.yaml"])
        #expect(result.status == 1)
        let expected = [
            "error: hostname 'gone.example.test': certificate file \(folder)/nothere.pem does not exist or cannot be read",
            "error: hostname 'pfx.example.test': cannot open PKCS#12 \(folder)/garbage.pem (wrong password or damaged file): bad pkcs12 data",
            "error: api 'lost': policy: file \(folder)/lost.xml does not exist or cannot be read",
            "\(folder)/broken.xml:1:91: 'IRequest' has no member 'Nope'",
            "error: api 'elsewhere': hostname 'nowhere.example.test' is not configured under 'hostnames'",
        ]
        for line in expected { #expect(result.stderr.contains(line), "\(line)\n---\n\(result.stderr)") }
        #expect(result.stderr.contains("(5 errors, 0 warnings)"))
        #expect(!result.stderr.contains("OPENSSL_internal") && !result.stderr.contains(".build/") && !result.stderr.contains("USAGE"))
    }

    @Test func usageErrorsExit2() async throws {
        let result = try await Self.run(["check"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--config"))
    }

    /// The demo through a pipe: its banner shows while it runs (line-buffered stdout), SIGHUP reloads
    /// the demo's policies instead of killing it, SIGTERM drains and exits 0.
    @Test func demoAnswersSIGHUPWithAReloadAndItsBannerReachesAPipeAtOnce() async throws {
        let executable = try #require(Self.executable)
        let folder = try Self.temporaryFolder()
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--demo-directory", folder, "--port", "0", "--echo-port", "0", "--operations-port", "0"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let output = NIOLockedValueBox("")
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            output.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        func waitFor(_ text: String, seconds: Int) async throws -> Bool {
            for _ in 0..<(seconds * 10) {
                if output.withLockedValue({ $0.contains(text) }) { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return false
        }
        #expect(try await waitFor("Drawbridge demo is running", seconds: 120), "\(output.withLockedValue { $0 })")
        // The gateway's port (--port 0) from its "listening" log line.
        let text = output.withLockedValue { $0 }
        let listening = try #require(text.split(separator: "\n").first { $0.hasSuffix("[Gateway] listening") })
        let portField = try #require(listening.split(separator: " ").first { $0.hasPrefix("port=") })
        let port = try #require(Int(portField.dropFirst(5)))
        // Edit the demo's policy as the banner invites, then SIGHUP: the edit is in force, the demo lives.
        try """
        <policies><inbound><return-response><set-status code="418" reason="Edited" /></return-response></inbound>
        <backend><forward-request /></backend><outbound /><on-error /></policies>
        """.write(toFile: folder + "/policies/echo.xml", atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        #expect(try await waitFor("configuration reloaded", seconds: 20), "\(output.withLockedValue { $0 })")
        #expect(process.isRunning)
        let edited = try await Curl.run(["--cacert", folder + "/pki/root-ca.pem", "--resolve", "localhost:\(port):127.0.0.1",
                                         "https://localhost:\(port)/echo/users/1"])
        #expect(edited.httpCode == 418, "\(edited.stderr)")
        process.terminate()  // SIGTERM: drain
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        out.fileHandleForReading.readabilityHandler = nil
    }

    /// `accessLog: json`: one JSON object a line on stdout, with the route, the client certificate's
    /// thumbprint and the reason for every answer the gateway made itself.
    @Test func jsonAccessLogCarriesRouteThumbprintAndReason() async throws {
        let executable = try #require(Self.executable)
        let pki = try await SharedPKI.shared.pki()
        let echo = try await EchoBackend.start(group: NIOPosix.MultiThreadedEventLoopGroup.singleton)
        let folder = try Self.temporaryFolder()
        // A run-time expression error (500 with an activityId) and a policy that answers with context.RequestId:
        // the log's request_id is the same value.
        try """
        <policies><inbound><set-header name="x-length" exists-action="override">
        <value>@(context.Request.Headers.GetValueOrDefault("x-missing").Length.ToString())</value></set-header></inbound>
        <backend><forward-request /></backend><outbound /><on-error /></policies>
        """.write(toFile: folder + "/broken.xml", atomically: true, encoding: .utf8)
        try """
        <policies><inbound><return-response><set-status code="200" reason="OK" />
        <set-header name="X-Request-Id" exists-action="override"><value>@(context.RequestId.ToString())</value></set-header>
        </return-response></inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
        """.write(toFile: folder + "/id.xml", atomically: true, encoding: .utf8)
        try """
        listen: { port: 0 }
        accessLog: json
        operations: { port: 0 }
        defaultHostname: localhost
        hostnames:
          - { name: localhost, certificate: \(pki.serverCertificate), key: \(pki.serverKey), clientCertificate: negotiate,
              trustedCAs: [\(pki.rootCA), \(pki.intermediateCA)] }
        apis:
          - { name: echo, path: /echo, backend: "http://127.0.0.1:\(echo.port)", requireTrustedClientCertificate: true,
              operations: [ { name: get-user, method: GET, template: "/users/{id}" } ] }
          - { name: dead, path: /dead, backend: "http://127.0.0.1:1" }
          - { name: broken, path: /broken, backend: "http://127.0.0.1:\(echo.port)", policy: \(folder)/broken.xml }
          - { name: id, path: /id, backend: "http://127.0.0.1:\(echo.port)", policy: \(folder)/id.xml }
        """.write(toFile: folder + "/gateway.yaml", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--config", folder + "/gateway.yaml"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let output = NIOLockedValueBox("")
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            output.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var port: Int?
        for _ in 0..<300 where port == nil {
            let listening = output.withLockedValue { $0 }.split(separator: "\n").first { $0.hasSuffix("[Gateway] listening") }
            port = listening.flatMap { $0.split(separator: " ").first { $0.hasPrefix("port=") } }.flatMap { Int($0.dropFirst(5)) }
            if port == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let gatewayPort = try #require(port, "\(output.withLockedValue { $0 })")
        let base = ["--cacert", pki.rootCA, "--resolve", "localhost:\(gatewayPort):127.0.0.1"]
        let url = "https://localhost:\(gatewayPort)"
        let ok = try await Curl.run(base + ["--cert", pki.clientCertificate, "--key", pki.clientKey, "\(url)/echo/users/7"])
        #expect(ok.httpCode == 200, "\(ok.stderr)")
        #expect(try await Curl.run(base + ["\(url)/echo/users/7"]).httpCode == 403)
        #expect(try await Curl.run(base + ["--cert", pki.expiredClientCertificate, "--key", pki.expiredClientKey, "\(url)/echo/users/7"]).httpCode == 403)
        let dead = try await Curl.run(base + ["\(url)/dead/x"])
        #expect(dead.httpCode == 502)
        // An encoded newline is refused before routing (400), and the path is logged as sent.
        #expect(try await Curl.run(base + ["\(url)/nope%0a%22x"]).httpCode == 400)
        let broken = try await Curl.run(base + ["\(url)/broken/x"])
        #expect(broken.httpCode == 500)
        let activityId = broken.body.split(separator: "\"").drop { $0 != "activityId" }.dropFirst(2).first.map(String.init)
        let identified = try await Curl.run(base + ["-D", "-", "\(url)/id/x"])
        #expect(identified.httpCode == 200)
        let answeredId = identified.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-request-id:") }
            .map { String($0.dropFirst("x-request-id:".count)).trimmingCharacters(in: .whitespaces) }
        let revoked = try await Curl.run(base + ["--cert", pki.revokedClientCertificate, "--key", pki.revokedClientKey, "\(url)/echo/users/7"])
        #expect(revoked.httpCode == 403)
        let unknownCA = try await Curl.run(base + ["--cert", pki.unknownClientCertificate, "--key", pki.unknownClientKey, "\(url)/echo/users/7"])
        #expect(unknownCA.httpCode == 403)
        // A refused handshake is logged at info with a plain reason (and is no access-log line).
        _ = try await Curl.run(["http://127.0.0.1:\(gatewayPort)/echo/users/7"])
        for _ in 0..<50 where !output.withLockedValue({ $0.contains("TLS handshake refused") }) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let refusal = output.withLockedValue { $0 }.split(separator: "\n").first { $0.hasSuffix("TLS handshake refused") }
        #expect(refusal?.contains(" info ") == true && refusal?.contains("reason=plain HTTP sent to the TLS port") == true,
                "\(output.withLockedValue { $0 })")
        process.terminate()
        process.waitUntilExit()
        out.fileHandleForReading.readabilityHandler = nil
        await echo.stop()

        let lines = output.withLockedValue { $0 }.split(separator: "\n").filter { $0.hasPrefix("{") }
        let entries = try lines.map { line -> [String: Any] in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
        #expect(entries.count == 9, "\(lines)")
        guard entries.count == 9 else { return }
        #expect(entries[0]["status"] as? Int == 200 && entries[0]["api"] as? String == "echo" && entries[0]["operation"] as? String == "get-user")
        #expect(entries[0]["reason"] is NSNull && (entries[0]["backend_ms"] as? Double ?? -1) >= 0)
        #expect((entries[0]["client_cert_thumbprint"] as? String)?.count == 40)
        #expect((entries[0]["client_cert_subject"] as? String)?.contains("CN=demo-client") == true, "\(entries[0])")
        #expect(entries[1]["client_cert_subject"] is NSNull)
        #expect(entries[0]["client_address"] as? String == "127.0.0.1")
        #expect(entries[0]["bytes_in"] as? Int == 0 && entries[0]["bytes_out"] as? Int == ok.body.utf8.count, "\(entries[0])")
        #expect(entries[5]["bytes_out"] as? Int == broken.body.utf8.count, "\(entries[5])")
        #expect((entries[5]["reason"] as? String)?.hasPrefix("policy error: ") == true
                && (entries[5]["reason"] as? String)?.contains("NullReferenceException") == true, "\(entries[5])")
        #expect(entries[1]["status"] as? Int == 403 && entries[1]["reason"] as? String == "client certificate: ClientCertificateNotFound")
        #expect((entries[2]["reason"] as? String)?.hasPrefix("client certificate: ClientCertificateExpired") == true, "\(entries[2])")
        #expect(entries[3]["status"] as? Int == 502 && (entries[3]["reason"] as? String)?.hasPrefix("backend: cannot connect to the backend") == true)
        #expect(entries[4]["status"] as? Int == 400 && entries[4]["reason"] as? String == "Bad request: malformed or dot-segment path")
        #expect(entries[4]["api"] is NSNull && entries[4]["path"] as? String == "/nope%0a%22x")
        #expect(entries[5]["status"] as? Int == 500 && activityId != nil && entries[5]["request_id"] as? String == activityId,
                "\(entries[5]) \(broken.body)")
        #expect(entries[6]["status"] as? Int == 200 && answeredId != nil && entries[6]["request_id"] as? String == answeredId,
                "\(entries[6]) \(identified.stdout)")
        // The gateway's own 5xx body names the request as the policy path's does (activityId).
        let deadActivityId = dead.body.split(separator: "\"").drop { $0 != "activityId" }.dropFirst(2).first.map(String.init)
        #expect(deadActivityId != nil && entries[3]["request_id"] as? String == deadActivityId, "\(dead.body) \(entries[3])")
        #expect(entries[7]["status"] as? Int == 403 && (entries[7]["reason"] as? String)?.hasPrefix("client certificate: ClientCertificateRevoked") == true,
                "\(entries[7])")
        #expect(entries[8]["status"] as? Int == 403 && (entries[8]["reason"] as? String)?.hasPrefix("client certificate: ClientCertificateNotTrusted") == true,
                "\(entries[8])")
        let ids = Set(entries.compactMap { $0["request_id"] as? String })
        #expect(ids.count == 9)
    }

    @Test func echoBackendListeningLineReachesAPipeAtOnce() async throws {
        let executable = try #require(Self.executable)
        let process = Process()
        process.executableURL = executable
        process.arguments = ["echo-backend", "--port", "0"]
        let out = Pipe()
        process.standardOutput = out
        let output = NIOLockedValueBox("")
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            output.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        var seen = false
        for _ in 0..<200 where !seen {
            seen = output.withLockedValue { $0.contains("echo backend listening on 127.0.0.1:") }
            if !seen { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(seen)
        process.terminate()
        process.waitUntilExit()
        out.fileHandleForReading.readabilityHandler = nil
    }
}
