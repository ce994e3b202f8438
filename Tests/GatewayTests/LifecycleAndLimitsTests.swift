import AsyncHTTPClient
import Foundation
import Gateway
import GatewayConfiguration
import NIOCore
import NIOPosix
import Testing

/// Draining, slow and idle clients, the connection limit, and HTTPS backends.
@Suite(.serialized)
struct LifecycleAndLimitsTests {
    /// Over HTTP/2 the connection gets GOAWAY and its open stream still finishes.
    @Test(arguments: [false, true])
    func shutdownDrainsInFlightRequestsAndStopsAccepting(http2: Bool) async throws {
        let gateway = try await TestGateway.start()
        let status = try await TestClients.with(pki: gateway.pki, certificate: gateway.pki.clientCertificate,
                                                key: gateway.pki.clientKey, http2: http2) { client in
            // Warm the connection so the slow request is on the wire well before the drain starts.
            _ = try await client.execute(HTTPClientRequest(url: gateway.baseURL + "/public/warm"), timeout: .seconds(10)).body.collect(upTo: 1 << 16)
            var request = HTTPClientRequest(url: gateway.baseURL + "/echo/slow")
            request.headers.add(name: "x-echo-delay-ms", value: "2000")
            async let slowResponse = client.execute(request, timeout: .seconds(20))
            try await Task.sleep(for: .milliseconds(700))
            gateway.server.shutdown()
            let response = try await slowResponse
            _ = try await response.body.collect(upTo: 1 << 16)
            return response.status
        }
        #expect(status == .ok, "the in-flight request finishes during the drain")
        try await gateway.stop()
        try await TestClients.with(pki: gateway.pki, certificate: nil, key: nil, http2: false) { late in
            await #expect(throws: (any Error).self, "no new connections after shutdown") {
                _ = try await late.execute(HTTPClientRequest(url: gateway.baseURL + "/public/x"), timeout: .seconds(2))
            }
        }
    }

    @Test func reloadSwapsTheConfigurationAndRefusesBrokenOnes() async throws {
        let gateway = try await TestGateway.start()
        var next = gateway.server.snapshot.config
        next.apis.append(APIConfig(name: "added", pathPrefix: "/added", backendURL: "http://127.0.0.1:\(gateway.echo.port)"))
        try gateway.server.reload(config: next)
        let added = try await TestClients.with(pki: gateway.pki, certificate: nil, key: nil, http2: false) { client in
            try await client.execute(HTTPClientRequest(url: gateway.baseURL + "/added/x"), timeout: .seconds(10)).status
        }
        #expect(added == .ok)

        var broken = next
        broken.hostnames[0].serverCertificate = .pem(certificateFile: "/nonexistent/server.pem", keyFile: "/nonexistent/key.pem")
        #expect(throws: GatewayStartupError.self) { try gateway.server.reload(config: broken) }
        var moved = next
        moved.listen.port = 1
        #expect(throws: GatewayStartupError.self) { try gateway.server.reload(config: moved) }
        // The previous configuration is still in force.
        let still = try await TestClients.with(pki: gateway.pki, certificate: nil, key: nil, http2: false) { client in
            try await client.execute(HTTPClientRequest(url: gateway.baseURL + "/added/y"), timeout: .seconds(10)).status
        }
        #expect(still == .ok)
        try await gateway.stop()
    }

    /// openssl s_client as a slowloris: a request head that never completes gets 408 and a close.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func slowRequestHeadGets408() async throws {
        let gateway = try await TestGateway.start(tweaking: { config, pki, port in
            config.limits.headerReadTimeout = 1
        })
        let output = try await OpenSSLClient.run(port: gateway.port, pki: gateway.pki,
                                           send: "GET /public/x HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1\r\n",
                                           waitSeconds: 3)
        #expect(output.contains("HTTP/1.1 408"), "\(output)")
        #expect(output.contains(#""statusCode":408"#))
        try await gateway.stop()
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func idleKeepAliveConnectionIsClosed() async throws {
        let gateway = try await TestGateway.start(tweaking: { config, pki, port in
            config.limits.idleTimeout = 1
        })
        let started = Date()
        let output = try await OpenSSLClient.run(port: gateway.port, pki: gateway.pki,
                                           send: "GET /public/x HTTP/1.1\r\nHost: localhost\r\n\r\n",
                                           waitSeconds: 8)
        #expect(output.contains("HTTP/1.1 200"))
        #expect(Date().timeIntervalSince(started) < 6, "the gateway closed the idle connection, not the client")
        try await gateway.stop()
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
    func connectionsBeyondTheLimitAreClosed() async throws {
        let gateway = try await TestGateway.start(tweaking: { config, pki, port in
            config.limits.maxConnections = 2
        })
        // Two idle TCP connections fill the limit; the third is closed by the gateway at once (EOF),
        // while the first two are still open.
        let script = """
        import socket, time
        a = socket.create_connection(("127.0.0.1", \(gateway.port)))
        b = socket.create_connection(("127.0.0.1", \(gateway.port)))
        time.sleep(0.3)
        c = socket.create_connection(("127.0.0.1", \(gateway.port)))
        c.settimeout(3)
        try:
            print("third:", "closed" if c.recv(10) == b"" else "data")
        except socket.timeout:
            print("third: open")
        a.setblocking(False)
        try:
            a.recv(10)
            print("first: closed")
        except BlockingIOError:
            print("first: open")
        """
        let output = try await OffPool.run { () -> String in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", script]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        #expect(output.contains("third: closed"), "\(output)")
        #expect(output.contains("first: open"), "\(output)")
        try await gateway.stop()
    }

    /// A second gateway serves as an HTTPS backend: trusted through `backend.trustedCAs`, and refused
    /// (502) when the backend's CA is not trusted.
    @Test(arguments: [true, false])
    func httpsBackendIsValidatedAgainstConfiguredCAs(trusted: Bool) async throws {
        let backendGateway = try await TestGateway.start(tweaking: { config, pki, port in
            config.hostnames[0].clientCertificate = .off
            config.apis = [APIConfig(name: "echo", pathPrefix: "/", backendURL: "http://127.0.0.1:\(port)")]
        })
        let backendPort = backendGateway.port
        let front = try await TestGateway.start(tweaking: { config, pki, port in
            config.apis = [APIConfig(name: "tls-backend", pathPrefix: "/tls", backendURL: "https://localhost:\(backendPort)/inner")]
            config.backend.trustedCAFiles = [trusted ? pki.rootCA : pki.unknownClientCertificate]
        })
        let (status, body) = try await TestClients.with(pki: front.pki, certificate: nil, key: nil, http2: false) { client in
            let response = try await client.execute(HTTPClientRequest(url: front.baseURL + "/tls/ping"), timeout: .seconds(10))
            return (response.status, String(buffer: try await response.body.collect(upTo: 1 << 16)))
        }
        if trusted {
            #expect(status == .ok)
            #expect(body.contains("\"path\":\"/inner/ping\""))
        } else {
            #expect(status == .badGateway)
        }
        try await front.stop()
        try await backendGateway.stop()
    }
}

/// `openssl s_client` as a raw TLS client: sends bytes, keeps the connection open, returns what came back.
enum OpenSSLClient {
    static func run(port: Int, pki: DemoPKI, send: String, waitSeconds: Double) async throws -> String {
        try await OffPool.run { try runBlocking(port: port, pki: pki, send: send, waitSeconds: waitSeconds) }
    }

    private static func runBlocking(port: Int, pki: DemoPKI, send: String, waitSeconds: Double) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-quiet", "-connect", "127.0.0.1:\(port)", "-servername", "localhost",
                             "-CAfile", pki.rootCA, "-cert", pki.clientCertificate, "-key", pki.clientKey]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(send.utf8))
        // Keep stdin open (closing it would end the connection from our side) until the deadline.
        let deadline = Date().addingTimeInterval(waitSeconds)
        while process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}
