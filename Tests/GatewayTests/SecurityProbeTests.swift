import Foundation
import Gateway
import GatewayConfiguration
import Testing

/// The attacks of the security review, each replayed with a real client (curl, or a raw TLS socket
/// from Python where curl cannot misbehave enough) against a real gateway; after each the gateway
/// must still answer a normal request.
@Suite(.serialized, .enabled(if: Curl.isAvailable && RawTLS.isAvailable, "needs /usr/bin/curl and /usr/bin/python3"))
struct SecurityProbeTests {
    static func common(_ gateway: TestGateway, cert: Bool = true) -> [String] {
        var args = ["--cacert", gateway.pki.rootCA, "--resolve", "localhost:\(gateway.port):127.0.0.1"]
        if cert { args += ["--cert", gateway.pki.clientCertificate, "--key", gateway.pki.clientKey] }
        return args
    }

    /// The gateway is alive and serving.
    static func expectServing(_ gateway: TestGateway, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let ok = try await Curl.run(common(gateway) + ["--http1.1", "\(gateway.baseURL)/public/alive"])
        #expect(ok.httpCode == 200, "gateway no longer serving: \(ok.stderr)", sourceLocation: sourceLocation)
    }

    static func writePolicy(_ xml: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString).xml").path
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: 1. A response finished while the request body still streams

    /// (a) A body trickled at one byte per 0.2 s until the backend timeout answers 504: the request loop
    /// must not read the body while the backend client still waits in a read (two readers of one
    /// stream trapped the process).
    @Test func trickledBodyAnsweredByTimeoutDoesNotCrash() async throws {
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.backend.timeout = 1 })
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki, script: """
            s = connect()
            s.sendall(b"POST /public/slow HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Length: 100\\r\\nx-echo-read-delay-ms: 1\\r\\n\\r\\n")
            s.settimeout(0.2)
            got = b""
            for i in range(20):
                try:
                    s.sendall(b"x")
                except OSError:
                    break
                try:
                    data = s.recv(65536)
                    if not data:
                        break
                    got += data
                except socket.timeout:
                    pass
            print(got.decode("latin-1").split("\\r\\n")[0])
            """)
        #expect(output.contains("504") || output.contains("200"), "\(output)")
        try await Self.expectServing(gateway)
        try await gateway.stop()
    }

    /// (b) A large POST to a backend that answers 401 before reading the body, (c) the same through a
    /// `<forward-request/>` policy: repeated on kept-alive connections.
    @Test(arguments: [false, true])
    func earlyBackendAnswerDuringALargeUploadDoesNotCrash(throughPolicies: Bool) async throws {
        let backend = try await CannedBackend.start()
        let policy = try Self.writePolicy("<policies><inbound /><backend><forward-request /></backend><outbound /><on-error /></policies>")
        let upload = FileManager.default.temporaryDirectory.appendingPathComponent("probe-upload-\(UUID().uuidString)").path
        try Data(count: 16 << 20).write(to: URL(fileURLWithPath: upload))
        defer {
            try? FileManager.default.removeItem(atPath: policy)
            try? FileManager.default.removeItem(atPath: upload)
        }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis.append(APIConfig(name: "raw", pathPrefix: "/raw", backendURL: "http://127.0.0.1:\(backend.port)"))
            if throughPolicies { config.policies.globalFile = policy }
        })
        for _ in 0..<3 {
            let result = try await Curl.run(Self.common(gateway) + [
                "--http1.1", "--data-binary", "@\(upload)", "-H", "Expect:", "\(gateway.baseURL)/raw/early401"])
            #expect(result.stdout.contains("401"), "\(result.stdout.prefix(300)) \(result.stderr)")
        }
        try await Self.expectServing(gateway)
        try await gateway.stop()
        try await backend.stop()
    }

    // MARK: 3. Upgrade / CONNECT followed by junk

    /// After `Upgrade: websocket` or `CONNECT`, junk must not be buffered without limit: the request is
    /// answered (CONNECT with 405) and the connection closed.
    @Test(arguments: ["GET /public/ws HTTP/1.1\\r\\nHost: localhost\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n",
                      "CONNECT localhost:443 HTTP/1.1\\r\\nHost: localhost:443\\r\\n\\r\\n"])
    func upgradeOrConnectThenJunkIsBoundedAndClosed(request: String) async throws {
        let gateway = try await TestGateway.start()
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki, script: """
            s = connect()
            s.sendall(b"\(request)")
            s.settimeout(5)
            junk = b"\\x00junk" * 8192
            sent = 0
            closed = False
            deadline = time.time() + 20
            while sent < (64 << 20) and time.time() < deadline:
                try:
                    s.sendall(junk)
                    sent += len(junk)
                except OSError:
                    closed = True
                    break
            got = b""
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        closed = True
                        break
                    got += data
            except OSError:
                closed = True
            print("status", got.decode("latin-1").split("\\r\\n")[0])
            print("sent", sent, "closed", closed)
            """)
        #expect(output.contains("closed True"), "\(output)")
        let sent = output.split(separator: "\n").first { $0.hasPrefix("sent ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? Int.max
        #expect(sent < 64 << 20, "the gateway kept accepting junk: \(output)")
        if request.hasPrefix("CONNECT") { #expect(output.contains("405"), "\(output)") }
        try await Self.expectServing(gateway)
        try await gateway.stop()
    }

    // MARK: 4. Path spellings must not dodge an operation's policy

    @Test func pathSpellingsReachTheOperationTheyName() async throws {
        let deny = try Self.writePolicy("""
            <policies><inbound><return-response><set-status code="403" reason="Forbidden" /></return-response></inbound>
            <backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: deny) }
        let gateway = try await TestGateway.start(tweaking: { config, _, echoPort in
            config.apis.append(APIConfig(
                name: "ops", pathPrefix: "/ops", backendURL: "http://127.0.0.1:\(echoPort)",
                operations: [OperationConfig(name: "admin", method: "GET", urlTemplate: "/admin", policyFile: deny),
                             OperationConfig(name: "rest", method: "*", urlTemplate: "/*")]))
        })
        let base = Self.common(gateway) + ["--http1.1", "--path-as-is"]
        for spelling in ["/ops/admin", "/ops/%61dmin", "/ops/%61%64%6d%69%6e", "/ops/admin;x=1", "/ops/admin%20", "/ops/admin.",
                         "/ops/ADMIN", "/ops//admin", "/%6Fps/admin", "/OPS/Admin"] {
            let result = try await Curl.run(base + ["\(gateway.baseURL)\(spelling)"])
            #expect(result.httpCode == 403, "\(spelling) reached \(result.body)")
        }
        for spelling in ["/ops/..;/admin", "/ops/%2e%2e/admin", "/ops/%252e%252e/admin", "/ops/a%5cb", "/ops/a\\b",
                         "/ops/a%2fb", "/ops/a%00b", "/ops/..%20/x", "/ops/%2E"] {
            let result = try await Curl.run(base + ["\(gateway.baseURL)\(spelling)"])
            #expect(result.httpCode == 400, "\(spelling) got \(result.httpCode ?? -1): \(result.body)")
        }
        // The backend receives the normal form that routing matched.
        let other = try await Curl.run(base + ["\(gateway.baseURL)/ops/%7Euser/%41b%2fc%3f"])
        #expect(other.httpCode == 400)
        let normal = try await Curl.run(base + ["\(gateway.baseURL)/ops/%7euser/%41b%3fc%e2%82%ac"])
        #expect(normal.httpCode == 200, "\(normal.body)")
        #expect(normal.body.contains(#""path":"/~user/Ab%3Fc%E2%82%AC""#), "\(normal.body)")
        try await gateway.stop()
    }

    // MARK: 5. Duplicate operation names, forged headers, Connection-listed removal, revocation

    @Test func duplicateOperationNamesAreAConfigurationError() async throws {
        do {
            let gateway = try await TestGateway.start(tweaking: { config, _, echoPort in
                config.apis.append(APIConfig(
                    name: "twice", pathPrefix: "/twice", backendURL: "http://127.0.0.1:\(echoPort)",
                    operations: [OperationConfig(name: "op", method: "GET", urlTemplate: "/a"),
                                 OperationConfig(name: "op", method: "GET", urlTemplate: "/b")]))
            })
            try await gateway.stop()
            Issue.record("a configuration with two operations named 'op' was accepted")
        } catch {
            #expect("\(error)".contains("operation name 'op' is used twice"), "\(error)")
        }
    }

    @Test func forgedCertificateHeadersInEverySpellingAreStripped() async throws {
        let gateway = try await TestGateway.start()
        var args = Self.common(gateway) + ["--http1.1"]
        for name in ["ssl-client-cert", "X_ARR_ClientCert", "X-SSL-Client-Verify", "X-Forwarded-Tls-Client-Cert",
                     "X-Forwarded-Tls-Client-Cert-Info", "X_Forwarded_Host", "x-client-verify", "X-SSL-Client-S-DN"] {
            args += ["-H", "\(name): forged"]
        }
        let result = try await Curl.run(args + ["-H", "X-Kept: yes", "\(gateway.baseURL)/public/x"])
        #expect(result.httpCode == 200)
        #expect(!result.body.lowercased().contains("forged"), "\(result.body)")
        #expect(result.body.contains("\"x-kept\":\"yes\""))
        try await gateway.stop()
    }

    /// A client's `Connection: X-ARR-ClientCert` must not remove the header a policy sets.
    @Test func connectionHeaderCannotRemoveAPolicysHeader() async throws {
        let policy = try Self.writePolicy("""
            <policies><inbound><set-header name="X-ARR-ClientCert" exists-action="override"><value>@(context.Request.Certificate?.Thumbprint ?? "none")</value></set-header>
            <set-header name="X-Policy" exists-action="override"><value>set</value></set-header></inbound>
            <backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.policies.globalFile = policy })
        let result = try await Curl.run(Self.common(gateway) + [
            "--http1.1", "-H", "Connection: X-ARR-ClientCert, X-Policy, X-Client-Only", "-H", "X-Client-Only: 1",
            "\(gateway.baseURL)/public/x"])
        #expect(result.httpCode == 200, "\(result.stderr)")
        let body = result.body.lowercased()
        #expect(body.contains("\"x-policy\":\"set\""), "\(result.body)")
        #expect(body.contains("\"x-arr-clientcert\":\""), "\(result.body)")
        #expect(!body.contains("x-client-only"), "\(result.body)")
        try await gateway.stop()
    }

    /// A header a policy builds with CR/LF must not split the request sent to the backend (no header
    /// injection): the exchange is refused before anything is written, and the gateway serves on.
    @Test func policyHeaderWithLineBreaksIsNeverWrittenToTheBackend() async throws {
        let policy = try Self.writePolicy("""
            <policies><inbound><set-header name="X-Built" exists-action="override"><value>@("a\\r\\nX-Injected: yes")</value></set-header></inbound>
            <backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.policies.globalFile = policy })
        let result = try await Curl.run(Self.common(gateway) + ["--http1.1", "\(gateway.baseURL)/public/x"])
        #expect(!result.body.lowercased().contains("x-injected"), "\(result.body)")
        #expect(result.httpCode != 200, "\(result.httpCode) \(result.body)")
        try await gateway.stop()
    }

    /// `requireTrustedClientCertificate` (the demo's /echo without a policy) and `required` mode decide
    /// with the same verifier as `Verify()`: a revoked certificate is refused by both.
    @Test func revokedCertificateIsRefusedByTheGateAndInRequiredMode() async throws {
        func run(_ gateway: TestGateway, _ certificate: String, _ key: String, _ path: String) async throws -> Curl.Result {
            try await Curl.run(["--cacert", gateway.pki.rootCA, "--resolve", "localhost:\(gateway.port):127.0.0.1", "--http1.1",
                                "--cert", certificate, "--key", key, "\(gateway.baseURL)\(path)"])
        }
        let gateway = try await TestGateway.start()
        let pki = gateway.pki
        let revoked = try await run(gateway, pki.revokedClientCertificate, pki.revokedClientKey, "/echo/x")
        #expect(revoked.httpCode == 403, "\(revoked.body)")
        let valid = try await run(gateway, pki.clientCertificate, pki.clientKey, "/echo/x")
        #expect(valid.httpCode == 200, "\(valid.body)")
        try await gateway.stop()

        let required = try await TestGateway.start(tweaking: { config, _, _ in
            config.hostnames[0].clientCertificate = .required
            config.apis[0].requireTrustedClientCertificate = false
        })
        let refused = try await run(required, pki.revokedClientCertificate, pki.revokedClientKey, "/public/x")
        #expect(refused.httpCode == 0, "revoked certificate accepted in required mode: \(refused.stdout)")
        let unknown = try await run(required, pki.unknownClientCertificate, pki.unknownClientKey, "/public/x")
        #expect(unknown.httpCode == 0, "certificate from an unknown CA accepted in required mode: \(unknown.stdout)")
        let accepted = try await run(required, pki.clientCertificate, pki.clientKey, "/public/x")
        #expect(accepted.httpCode == 200, "\(accepted.stderr)")
        try await required.stop()
    }

    /// A request body that stops arriving while the gateway waits for it gets 408.
    @Test func stalledRequestBodyGets408() async throws {
        let policy = try Self.writePolicy("""
            <policies><inbound><set-variable name="b" value="@(context.Request.Body.As<string>(preserveContent: true))" /></inbound>
            <backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.policies.globalFile = policy
            config.limits.bodyReadTimeout = 1
        })
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki, script: """
            s = connect()
            s.sendall(b"POST /public/x HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Length: 10\\r\\n\\r\\nab")
            s.settimeout(6)
            got = b""
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    got += data
            except OSError:
                pass
            print(got.decode("latin-1").split("\\r\\n")[0])
            """)
        #expect(output.contains("408"), "\(output)")
        try await Self.expectServing(gateway)
        try await gateway.stop()
    }

    // MARK: 7. Host, server names in logs

    @Test func missingDuplicateOrMalformedHostIs400() async throws {
        let gateway = try await TestGateway.start()
        for head in ["GET /public/x HTTP/1.1\\r\\n\\r\\n",
                     "GET /public/x HTTP/1.1\\r\\nHost: localhost\\r\\nHost: localhost\\r\\n\\r\\n",
                     "GET /public/x HTTP/1.1\\r\\nHost: user@localhost\\r\\n\\r\\n",
                     "GET /public/x HTTP/1.1\\r\\nHost: localhost:80x\\r\\n\\r\\n"] {
            let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki, script: """
                s = connect()
                s.sendall(b"\(head)")
                s.settimeout(5)
                print(s.recv(65536).decode("latin-1").split("\\r\\n")[0])
                """)
            #expect(output.contains(" 400 "), "\(head): \(output)")
        }
        try await Self.expectServing(gateway)
        try await gateway.stop()
    }

    @Test func clientTextIsEscapedForLogs() {
        #expect(LogText.escape("evil\r\nlevel=info msg=forged") == #"evil\x0d\x0alevel=info msg=forged"#)
        #expect(LogText.escape("\u{1B}[31mred") == #"\x1b[31mred"#)
        #expect(LogText.escape("quote\"back\\slash") == #"quote\x22back\x5cslash"#)
        #expect(LogText.escape("plain.example.com") == "plain.example.com")
    }
}

/// Raw TLS client in Python (standard library only) with the demo client certificate: for requests
/// curl will not send (no Host, junk after an upgrade, a trickled body).
enum RawTLS {
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") }

    static func run(port: Int, pki: DemoPKI, script: String, timeout: Double = 60) async throws -> String {
        let prelude = """
            import socket, ssl, sys, time
            def connect():
                ctx = ssl.create_default_context(cafile=\(pythonString(pki.rootCA)))
                ctx.load_cert_chain(\(pythonString(pki.clientCertificate)), \(pythonString(pki.clientKey)))
                ctx.set_alpn_protocols(["http/1.1"])
                raw = socket.create_connection(("127.0.0.1", \(port)))
                return ctx.wrap_socket(raw, server_hostname="localhost")

            """
        let source = prelude + script
        return try await OffPool.run {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", source]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
    }

    private static func pythonString(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}
