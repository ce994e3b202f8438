import Foundation
import Gateway
import GatewayConfiguration
import Testing

/// The same gateway seen through curl, the command-line client users paste from the README.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl (.ci/run installs it)"))
struct CurlTests {
    /// Two hostnames besides localhost: a wildcard with its own API, and a certificate-free one.
    static func multiHostConfig(pki: DemoPKI, echoPort: Int, defaultHostname: String?) -> GatewayConfig {
        var config = DemoGateway.configuration(pki: pki, echoPort: echoPort, port: 0)
        config.accessLog = false
        config.defaultHostname = defaultHostname
        config.apis[0].hostnames = ["localhost"]
        config.hostnames.append(HostnameConfig(
            name: "*.wild.test",
            serverCertificate: .pem(certificateFile: pki.serverCertificate, keyFile: pki.serverKey),
            clientCertificate: .negotiate, trustedCAFiles: [pki.rootCA, pki.intermediateCA]))
        config.hostnames.append(HostnameConfig(
            name: "other.example.test",
            serverCertificate: .pem(certificateFile: pki.serverCertificate, keyFile: pki.serverKey),
            clientCertificate: .off))
        config.apis.append(APIConfig(name: "wild", hostnames: ["*.wild.test"], pathPrefix: "/wild",
                                     backendURL: "http://127.0.0.1:\(echoPort)/base"))
        config.apis.append(APIConfig(name: "dead", pathPrefix: "/dead", backendURL: "http://127.0.0.1:1"))
        config.backend.timeout = 1
        return config
    }

    func common(_ gateway: TestGateway, host: String = "localhost", cert: Bool = true) -> [String] {
        var args = ["--cacert", gateway.pki.rootCA, "--resolve", "\(host):\(gateway.port):127.0.0.1"]
        if cert { args += ["--cert", gateway.pki.clientCertificate, "--key", gateway.pki.clientKey] }
        return args
    }

    @Test func curlWithAndWithoutCertificateOverBothProtocols() async throws {
        let gateway = try await TestGateway.start()
        for protocolFlag in ["--http1.1", "--http2"] {
            let ok = try await Curl.run(common(gateway) + [protocolFlag, "\(gateway.baseURL)/echo/users/7"])
            #expect(ok.httpCode == 200, "\(protocolFlag): \(ok.stderr)")
            #expect(ok.body.contains("\"path\":\"/users/7\""))
            let refused = try await Curl.run(common(gateway, cert: false) + [protocolFlag, "\(gateway.baseURL)/echo/users/7"])
            #expect(refused.httpCode == 403)
            #expect(refused.body == #"{"statusCode":403,"message":"Invalid client certificate"}"#)
        }
        try await gateway.stop()
    }

    /// curl 7.88 resets every HTTP/2 stream whose answer ends in its HEADERS frame (here a policy's
    /// 403 without a body, as the seed policy answers): 250 such refusals on one connection are all
    /// answered (NIOHTTP2Handler's count of every RST_STREAM once sent GOAWAY after 202).
    @Test func manyBodilessRefusalsOnOneHTTP2Connection() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = directory.appendingPathComponent("refuse.xml").path
        try """
            <policies>
              <inbound><return-response><set-status code="403" reason="Forbidden" /></return-response></inbound>
              <backend><forward-request /></backend>
              <outbound /><on-error />
            </policies>
            """.write(toFile: policy, atomically: true, encoding: .utf8)
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.apis[1].policyFile = policy })
        let config = directory.appendingPathComponent("curl.cfg")
        let entry = "url = \"\(gateway.baseURL)/public/refused\"\noutput = \"/dev/null\"\n"
        try String(repeating: entry, count: 250).write(to: config, atomically: true, encoding: .utf8)
        let result = try await Curl.run(common(gateway) + ["--http2", "-K", config.path])
        #expect(result.stdout == String(repeating: "403", count: 250), "\(result.stdout.replacingOccurrences(of: "403", with: "")) \(result.stderr)")
        try await gateway.stop()
    }

    @Test func forgedClientCertificateHeadersAreStripped() async throws {
        let gateway = try await TestGateway.start()
        let result = try await Curl.run(common(gateway) + ["-H", "X-ARR-ClientCert: forged", "-H", "X-Forwarded-Client-Cert: forged",
                                                           "-H", "Client-Cert: :Zm9yZ2Vk:", "-H", "X-Kept: yes", "\(gateway.baseURL)/public/x"])
        #expect(result.httpCode == 200)
        #expect(!result.body.lowercased().contains("forged") && !result.body.contains("Zm9yZ2Vk"), "\(result.body)")
        #expect(result.body.contains("\"x-kept\":\"yes\""))
        try await gateway.stop()
    }

    @Test func wildcardHostnameServesItsAPIAndBackendBasePath() async throws {
        let gateway = try await TestGateway.start { pki, port in Self.multiHostConfig(pki: pki, echoPort: port, defaultHostname: "localhost") }
        let result = try await Curl.run(common(gateway, host: "a.wild.test") + ["https://a.wild.test:\(gateway.port)/wild/items/3"])
        #expect(result.httpCode == 200, "\(result.stderr)")
        #expect(result.body.contains("\"path\":\"/base/items/3\""))
        // The wildcard API is not served on localhost.
        let elsewhere = try await Curl.run(common(gateway) + ["\(gateway.baseURL)/wild/items/3"])
        #expect(elsewhere.httpCode == 404)
        #expect(elsewhere.body == #"{"statusCode":404,"message":"Resource not found"}"#)
        try await gateway.stop()
    }

    @Test func noSNIUsesTheDefaultHostnameOrIsRefusedWithAnAlert() async throws {
        let withDefault = try await TestGateway.start { pki, port in Self.multiHostConfig(pki: pki, echoPort: port, defaultHostname: "localhost") }
        // curl sends no SNI to an IP address.
        let served = try await Curl.run(["--cacert", withDefault.pki.rootCA, "--cert", withDefault.pki.clientCertificate,
                                   "--key", withDefault.pki.clientKey, "https://127.0.0.1:\(withDefault.port)/echo/users/1"])
        #expect(served.httpCode == 200, "\(served.stderr)")
        try await withDefault.stop()

        let withoutDefault = try await TestGateway.start { pki, port in Self.multiHostConfig(pki: pki, echoPort: port, defaultHostname: nil) }
        let refused = try await Curl.run(["--cacert", withoutDefault.pki.rootCA, "https://127.0.0.1:\(withoutDefault.port)/public/x"])
        #expect(refused.status != 0)
        #expect(refused.stderr.lowercased().contains("unrecognized name"), "\(refused.stderr)")
        let unknown = try await Curl.run(common(withoutDefault, host: "unknown.test") + ["https://unknown.test:\(withoutDefault.port)/public/x"])
        #expect(unknown.status != 0)
        try await withoutDefault.stop()
    }

    @Test func hostThatDiffersFromTheHandshakeGets421() async throws {
        let gateway = try await TestGateway.start { pki, port in Self.multiHostConfig(pki: pki, echoPort: port, defaultHostname: "localhost") }
        // TLS for localhost (client certificate negotiated), request for another configured hostname.
        let misdirected = try await Curl.run(common(gateway) + ["-H", "Host: other.example.test", "\(gateway.baseURL)/public/x"])
        #expect(misdirected.httpCode == 421)
        #expect(misdirected.body.contains("\"statusCode\":421"))
        // HTTP/2 :authority is checked the same way.
        let misdirected2 = try await Curl.run(common(gateway) + ["--http2", "-H", "Host: a.wild.test", "\(gateway.baseURL)/public/x"])
        #expect(misdirected2.httpCode == 421)
        // A Host that names no configured hostname is served by the handshake's hostname.
        let plain = try await Curl.run(common(gateway) + ["-H", "Host: localhost:\(gateway.port)", "\(gateway.baseURL)/public/x"])
        #expect(plain.httpCode == 200)
        try await gateway.stop()
    }

    @Test func deadAndSlowBackendsGet502And504() async throws {
        let gateway = try await TestGateway.start { pki, port in Self.multiHostConfig(pki: pki, echoPort: port, defaultHostname: "localhost") }
        let dead = try await Curl.run(common(gateway) + ["\(gateway.baseURL)/dead/x"])
        #expect(dead.httpCode == 502)
        #expect(dead.body.hasPrefix(#"{"statusCode":502,"message":"#))
        let slow = try await Curl.run(common(gateway) + ["-H", "x-echo-delay-ms: 3000", "\(gateway.baseURL)/public/slow"])
        #expect(slow.httpCode == 504)
        #expect(slow.body.hasPrefix(#"{"statusCode":504,"message":"#))
        // On a pooled backend connection: the first exchange armed the timer for its own deadline;
        // the slow one after it, 600 ms later, still gets its 504 (the timer re-arms itself).
        let quick = try await Curl.run(common(gateway) + ["\(gateway.baseURL)/public/quick"])
        #expect(quick.httpCode == 200)
        try await Task.sleep(for: .milliseconds(600))
        let slowOnPooled = try await Curl.run(common(gateway) + ["-H", "x-echo-delay-ms: 3000", "\(gateway.baseURL)/public/slow"])
        #expect(slowOnPooled.httpCode == 504)
        try await gateway.stop()
    }

    /// More concurrent requests than backend connections: the rest wait for a connection in
    /// order and all are answered (one backend connection per event loop here, 24 HTTP/2 streams).
    @Test func requestsBeyondTheBackendConnectionLimitWaitTheirTurn() async throws {
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.backend.maxConnectionsPerHost = 1 })
        let urls = (0..<24).map { "\(gateway.baseURL)/public/wait/\($0)" }
        let result = try await Curl.run(common(gateway) + ["--http2", "--parallel", "--parallel-max", "24", "-H", "x-echo-delay-ms: 50",
                                                           "-w", "%{http_code}\n", "-o", "/dev/null"]
                                        + urls.flatMap { [$0, "-o", "/dev/null"] })
        let codes = result.stdout.components(separatedBy: "\n").filter { $0.count == 3 }
        #expect(codes.count == 24 && codes.allSatisfy { $0 == "200" }, "\(result.stdout) \(result.stderr)")
        try await gateway.stop()
    }

    @Test func oversizedHeadersAndTargetsAreRefused() async throws {
        let gateway = try await TestGateway.start(tweaking: { config, pki, port in
            config.limits.maxHeaderBytes = 8192
        })
        // 12 KiB: over the configured limit, under HTTP/2's 16 KiB default that applies until the
        // client acknowledges our SETTINGS.
        let big = String(repeating: "a", count: 12 * 1024)
        for protocolFlag in ["--http1.1", "--http2"] {
            let tooLarge = try await Curl.run(common(gateway) + [protocolFlag, "-H", "X-Big: \(big)", "\(gateway.baseURL)/public/x"])
            #expect(tooLarge.httpCode == 431, "\(protocolFlag): \(tooLarge.stderr)")
            #expect(tooLarge.body.hasPrefix(#"{"statusCode":431,"#))
        }
        // Beyond what the HTTP/1.1 parser accepts at all (80 KiB): still a clean 431.
        let huge = String(repeating: "b", count: 100 * 1024)
        let parserLimit = try await Curl.run(common(gateway) + ["--http1.1", "-H", "X-Huge: \(huge)", "\(gateway.baseURL)/public/x"])
        #expect(parserLimit.httpCode == 431, "\(parserLimit.stderr)")
        // HTTP/2: an oversized header list is a connection error (GOAWAY) that ends the connection
        // promptly rather than hanging the client.
        let started = Date()
        let h2Huge = try await Curl.run(common(gateway) + ["--http2", "-H", "X-Huge: \(huge)", "\(gateway.baseURL)/public/x"])
        #expect(h2Huge.httpCode != 200)
        #expect(Date().timeIntervalSince(started) < 10)
        var manyHeaders: [String] = []
        for index in 0..<120 { manyHeaders += ["-H", "X-H\(index): v"] }
        let tooMany = try await Curl.run(common(gateway) + manyHeaders + ["\(gateway.baseURL)/public/x"])
        #expect(tooMany.httpCode == 431)
        let longTarget = try await Curl.run(common(gateway) + ["\(gateway.baseURL)/public/\(String(repeating: "p", count: 9000))"])
        #expect(longTarget.httpCode == 414)
        let dotted = try await Curl.run(common(gateway) + ["--path-as-is", "\(gateway.baseURL)/echo/../public/x"])
        #expect(dotted.httpCode == 400)
        try await gateway.stop()
    }

    @Test func expectContinueIsAnswered() async throws {
        let gateway = try await TestGateway.start()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-expect-\(UUID().uuidString).bin")
        try Data(repeating: 7, count: 2 * 1024 * 1024).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await Curl.run(common(gateway) + ["--http1.1", "-v", "-H", "Expect: 100-continue",
                                                     "--data-binary", "@\(file.path)", "\(gateway.baseURL)/echo/upload"])
        #expect(result.httpCode == 200)
        #expect(result.stderr.contains("HTTP/1.1 100"), "curl -v did not see 100 Continue")
        #expect(result.body.contains("\"bodyBytes\":2097152"))
        // Refused before the body is read: no 100 Continue, a 403, and the body is never sent.
        let refused = try await Curl.run(common(gateway, cert: false) + ["--http1.1", "-v", "-H", "Expect: 100-continue",
                                                                   "--data-binary", "@\(file.path)", "\(gateway.baseURL)/echo/upload"])
        #expect(refused.httpCode == 403)
        #expect(!refused.stderr.contains("HTTP/1.1 100"))
        try await gateway.stop()
    }
}
