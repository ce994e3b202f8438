import Foundation
import Gateway
import GatewayConfiguration
import Testing

/// WebSocket pass-through, end to end: a real WebSocket backend (Python's standard library, RFC 6455
/// handshake and framing) behind the gateway, and a TLS client with the demo client certificate
/// that does the handshake, exchanges masked frames and reads the backend's echoes through the
/// tunnel. Policies run on the handshake (a refusal there means no upgrade); an idle tunnel closes.
@Suite(.serialized, .enabled(if: RawTLS.isAvailable, "needs /usr/bin/python3"))
struct WebSocketTunnelTests {
    /// A WebSocket echo server: answers the handshake with the computed accept key, then echoes each
    /// text frame as `echo:<payload>` (unmasked, as a server sends), and answers a close frame.
    static let backendScript = #"""
import base64, hashlib, os, signal, socket, struct, sys, threading
# Signals may arrive blocked from the test process; a watchdog ends the server in any case.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
threading.Timer(300, lambda: os._exit(0)).start()
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
def read_exact(c, n):
    data = b""
    while len(data) < n:
        part = c.recv(n - len(data))
        if not part: raise EOFError()
        data += part
    return data
def serve(c):
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            part = c.recv(4096)
            if not part: return
            head += part
        lines = head.split(b"\r\n")
        fields = {l.split(b":", 1)[0].strip().lower(): l.split(b":", 1)[1].strip() for l in lines[1:] if b":" in l}
        if fields.get(b"upgrade", b"").lower() != b"websocket":
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"); return
        accept = base64.b64encode(hashlib.sha1(fields[b"sec-websocket-key"] + GUID).digest())
        seen = fields.get(b"x-seen-by-backend", b"-")
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\nX-Seen: " + seen + b"\r\n\r\n")
        while True:
            b0, b1 = read_exact(c, 2)
            opcode, masked, length = b0 & 0x0F, b1 & 0x80, b1 & 0x7F
            if length == 126: length = struct.unpack(">H", read_exact(c, 2))[0]
            elif length == 127: length = struct.unpack(">Q", read_exact(c, 8))[0]
            mask = read_exact(c, 4) if masked else b"\0\0\0\0"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(read_exact(c, length)))
            if opcode == 8:
                c.sendall(b"\x88\x00"); return
            out = b"echo:" + payload
            if len(out) < 126: c.sendall(bytes([0x81, len(out)]) + out)
            else: c.sendall(bytes([0x81, 126]) + struct.pack(">H", len(out)) + out)
    except (EOFError, OSError):
        pass
    finally:
        c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""#

    /// The client side, appended to RawTLS's prelude (`connect()` with the demo client certificate).
    static func clientScript(path: String, extraHeaders: String = "", messages: [String], idleWait: Double = 0) -> String {
        """
        import base64, hashlib, os, struct
        GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        def read_exact(c, n):
            data = b""
            while len(data) < n:
                part = c.recv(n - len(data))
                if not part: raise EOFError("closed")
                data += part
            return data
        def frame(payload, opcode=1):
            mask = os.urandom(4)
            masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if len(payload) < 126: header = bytes([0x80 | opcode, 0x80 | len(payload)])
            else: header = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack(">H", len(payload))
            return header + mask + masked
        def read_frame(c):
            b0, b1 = read_exact(c, 2)
            length = b1 & 0x7F
            if length == 126: length = struct.unpack(">H", read_exact(c, 2))[0]
            return b0 & 0x0F, read_exact(c, length)
        s = connect()
        s.settimeout(10)
        key = base64.b64encode(os.urandom(16))
        s.sendall(b"GET \(path) HTTP/1.1\\r\\nHost: localhost\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: " + key + b"\\r\\nSec-WebSocket-Version: 13\\r\\n\(extraHeaders)\\r\\n")
        head = b""
        while b"\\r\\n\\r\\n" not in head:
            part = s.recv(1)
            if not part: break
            head += part
        print("status", head.split(b"\\r\\n")[0].decode())
        expected = base64.b64encode(hashlib.sha1(key + GUID).digest())
        print("accept-ok", expected in head)
        print("seen", b"X-Seen: yes" in head)
        if b" 101 " in head.split(b"\\r\\n")[0]:
            for message in [\(messages.map { "b'\($0)'" }.joined(separator: ", "))]:
                s.sendall(frame(message))
                opcode, payload = read_frame(s)
                print("got", opcode, payload.decode())
            big = b"x" * 40000
            s.sendall(frame(big))
            opcode, payload = read_frame(s)
            print("big", len(payload), payload == b"echo:" + big)
            if \(idleWait) > 0:
                time.sleep(\(idleWait))
                try:
                    s.sendall(frame(b"late"))
                    data = s.recv(100)
                    print("after-idle", "closed" if not data else "open")
                except OSError:
                    print("after-idle", "closed")
            else:
                s.sendall(frame(b"", opcode=8))
                opcode, payload = read_frame(s)
                print("close", opcode)
        else:
            print("body", head.decode("latin-1"), s.recv(4096).decode("latin-1"))
        """
    }

    final class Backend: @unchecked Sendable {
        let process = Process()
        let port: Int

        init() throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", WebSocketTunnelTests.backendScript]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                process.terminate()
                throw TestFailure("the WebSocket backend did not start")
            }
            self.port = port
        }

        func stop() {
            // SIGKILL: a child started from a test thread may have SIGTERM blocked. (No waitUntilExit:
            // Foundation's wait spins on a concurrency thread.)
            kill(process.processIdentifier, SIGKILL)
        }
    }

    static func writePolicy(_ xml: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ws-\(UUID().uuidString).xml").path
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func startGateway(backend: Backend, policy: String? = nil, idle: Double? = nil) async throws -> TestGateway {
        try await TestGateway.start(tweaking: { config, _, _ in
            config.apis.append(APIConfig(name: "ws", pathPrefix: "/ws", backendURL: "http://127.0.0.1:\(backend.port)", policyFile: policy))
            if let idle { config.limits.tunnelIdleTimeout = idle }
        })
    }

    @Test func messagesFlowBothWaysThroughTheTunnel() async throws {
        let backend = try Backend()
        defer { backend.stop() }
        // Policies run on the handshake: this one tells the backend it saw the request.
        let policy = try Self.writePolicy("""
            <policies><inbound><set-header name="X-Seen-By-Backend" exists-action="override"><value>yes</value></set-header></inbound>
            <backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await Self.startGateway(backend: backend, policy: policy)
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki,
                                          script: Self.clientScript(path: "/ws/chat", messages: ["hello", "second"]))
        #expect(output.contains("status HTTP/1.1 101 Switching Protocols"), "\(output)")
        #expect(output.contains("accept-ok True"), "\(output)")
        #expect(output.contains("seen True"), "\(output)")
        #expect(output.contains("got 1 echo:hello"), "\(output)")
        #expect(output.contains("got 1 echo:second"), "\(output)")
        #expect(output.contains("big 40005 True"), "\(output)")
        #expect(output.contains("close 8"), "\(output)")
        // The gateway still serves plain requests afterwards.
        let plain = try await Curl.run(["--cacert", gateway.pki.rootCA, "--resolve", "localhost:\(gateway.port):127.0.0.1",
                                        "\(gateway.baseURL)/public/after"])
        #expect(plain.httpCode == 200, "\(plain.stderr)")
        try await gateway.stop()
    }

    @Test func aPolicyRefusalOnTheHandshakeMeansNoUpgrade() async throws {
        let backend = try Backend()
        defer { backend.stop() }
        let policy = try Self.writePolicy("""
            <policies><inbound><choose><when condition="@(!context.Request.Headers.ContainsKey("X-Ticket"))">
            <return-response><set-status code="401" reason="Unauthorized" /></return-response></when></choose></inbound>
            <backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await Self.startGateway(backend: backend, policy: policy)
        let refused = try await RawTLS.run(port: gateway.port, pki: gateway.pki,
                                           script: Self.clientScript(path: "/ws/chat", messages: []))
        #expect(refused.contains("status HTTP/1.1 401 Unauthorized"), "\(refused)")
        let admitted = try await RawTLS.run(port: gateway.port, pki: gateway.pki,
                                            script: Self.clientScript(path: "/ws/chat", extraHeaders: "X-Ticket: 1\\r\\n", messages: ["in"]))
        #expect(admitted.contains("got 1 echo:in"), "\(admitted)")
        try await gateway.stop()
    }

    /// The product's case: the API demands a trusted client certificate and its policy calls
    /// `Verify()`; on a fresh connection neither verdict is known yet, so they are reached first (in a
    /// task) and the handshake is then served and tunnelled.
    @Test func aHandshakeNeedingCertificateVerdictsIsServed() async throws {
        let backend = try Backend()
        defer { backend.stop() }
        let policy = try Self.writePolicy("""
            <policies><inbound><choose><when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Verify())">
            <return-response><set-status code="403" reason="Invalid client certificate" /></return-response></when></choose></inbound>
            <backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis.append(APIConfig(name: "ws", pathPrefix: "/ws", backendURL: "http://127.0.0.1:\(backend.port)",
                                         requireTrustedClientCertificate: true, policyFile: policy))
        })
        for _ in 0..<2 {
            let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki,
                                              script: Self.clientScript(path: "/ws/secure", messages: ["trusted"]))
            #expect(output.contains("status HTTP/1.1 101 Switching Protocols"), "\(output)")
            #expect(output.contains("got 1 echo:trusted"), "\(output)")
        }
        try await gateway.stop()
    }

    @Test func anIdleTunnelIsClosed() async throws {
        let backend = try Backend()
        defer { backend.stop() }
        let gateway = try await Self.startGateway(backend: backend, idle: 1)
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki,
                                          script: Self.clientScript(path: "/ws/chat", messages: ["ping"], idleWait: 2.5))
        #expect(output.contains("got 1 echo:ping"), "\(output)")
        #expect(output.contains("after-idle closed"), "\(output)")
        try await gateway.stop()
    }

    @Test func aBackendThatDoesNotSwitchIsRelayedAndTheConnectionCloses() async throws {
        // The demo's echo backend speaks no WebSocket: its answer reaches the client as it is.
        let gateway = try await TestGateway.start()
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki,
                                          script: Self.clientScript(path: "/public/ws", messages: []))
        #expect(!output.contains(" 101 "), "\(output)")
        #expect(output.contains("status HTTP/1.1"), "\(output)")
        try await gateway.stop()
    }
}
