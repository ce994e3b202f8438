import Foundation
import Gateway
import GatewayConfiguration
import Testing

/// The HTTP/1.1 connection handler: requests served on the event loop and requests handed to a task
/// share one connection, in order, with pipelining and connection management intact.
@Suite(.serialized, .enabled(if: RawTLS.isAvailable, "needs /usr/bin/python3"))
struct HTTP1ConnectionTests {
    static let readAll = """
        s.settimeout(10)
        got = b""
        closed = False
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    closed = True
                    break
                got += data
        except OSError:
            pass
        text = got.decode("latin-1")
        import re
        print("statuses", " ".join(re.findall(r"HTTP/1\\.1 (\\d{3}) ", text)))
        print("closed", closed)
        """

    /// Five requests in one write: bodiless ones served on the loop, a POST with a body and the first
    /// request of a certificate-gated API (its verdict not cached yet) served by tasks, a 404 decided
    /// from the head. Answers come back in order and the connection closes after `Connection: close`.
    @Test func pipelinedRequestsOfBothPathsAnswerInOrder() async throws {
        let gateway = try await TestGateway.start()
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki, script: """
            s = connect()
            s.sendall(b"GET /public/one HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n"
                      b"POST /public/two HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Length: 5\\r\\n\\r\\nhello"
                      b"GET /nowhere HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n"
                      b"GET /echo/users/42 HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n"
                      b"GET /echo/users/43 HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n"
                      b"GET /public/three HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
            \(Self.readAll)
            positions = [text.find(p) for p in ['"/one"', '"/two"', '"/users/42"', '"/users/43"', '"/three"']]
            print("positions", positions)
            print("ordered", all(p >= 0 for p in positions) and positions == sorted(positions))
            """)
        #expect(output.contains("statuses 200 200 404 200 200 200"), "\(output)")
        #expect(output.contains("ordered True"), "\(output)")
        #expect(output.contains("closed True"), "\(output)")
        try await gateway.stop()
    }

    /// An HTTP/1.0 request without keep-alive gets its answer and the connection closes.
    @Test func http10WithoutKeepAliveCloses() async throws {
        let gateway = try await TestGateway.start()
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki, script: """
            s = connect()
            s.sendall(b"GET /public/old HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n")
            \(Self.readAll)
            """)
        #expect(output.contains("statuses 200"), "\(output)")
        #expect(output.contains("closed True"), "\(output)")
        try await gateway.stop()
    }

    /// The response framing follows the request: a HEAD answer carries no body bytes (the next answer
    /// on the connection starts right after its head), and an HTTP/1.0 client that asked to keep the
    /// connection gets `Connection: keep-alive` and can send another request.
    @Test func framingFollowsTheRequest() async throws {
        let gateway = try await TestGateway.start()
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki, script: """
            s = connect()
            s.settimeout(10)
            s.sendall(b"HEAD /public/h HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\nGET /public/g HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n")
            got = b""
            while got.count(b"HTTP/1.1 200") < 2 or not got.rstrip().endswith(b"}"):
                part = s.recv(65536)
                if not part: break
                got += part
            first, rest = got.split(b"\\r\\n\\r\\n", 1)
            print("head-then-next", rest.startswith(b"HTTP/1.1 200"))
            s.close()
            s = connect()
            s.settimeout(10)
            for i in range(2):
                s.sendall(b"GET /public/old%d HTTP/1.0\\r\\nHost: localhost\\r\\nConnection: keep-alive\\r\\n\\r\\n" % i)
                got = b""
                while b"\\r\\n\\r\\n" not in got:
                    got += s.recv(65536)
                head, body = got.split(b"\\r\\n\\r\\n", 1)
                length = int([l.split(b":")[1] for l in head.split(b"\\r\\n") if l.lower().startswith(b"content-length:")][0])
                while len(body) < length:
                    body += s.recv(65536)
                print("http10", i, head.split(b"\\r\\n")[0].decode(), b"connection: keep-alive" in head.lower())
            """)
        #expect(output.contains("head-then-next True"), "\(output)")
        #expect(output.contains("http10 0 HTTP/1.1 200 OK True"), "\(output)")
        #expect(output.contains("http10 1 HTTP/1.1 200 OK True"), "\(output)")
        try await gateway.stop()
    }

    /// Requests the parser refuses get a precise status and a body naming what was wrong, then the
    /// connection closes (smuggling attempts are never guessed at).
    @Test func malformedRequestsAreRefusedWithTheirReason() async throws {
        let gateway = try await TestGateway.start()
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki, script: """
            cases = [
                b"POST /public/a HTTP/1.1\\r\\nHost: localhost\\r\\nTransfer-Encoding: chunked\\r\\nContent-Length: 3\\r\\n\\r\\n",
                b"POST /public/a HTTP/1.1\\r\\nHost: localhost\\r\\nTransfer-Encoding: gzip, chunked\\r\\n\\r\\n",
                b"GET /public/a HTTP/1.1\\r\\nHost: localhost\\r\\n folded\\r\\n\\r\\n",
                b"GET /public/a HTTP/1.1\\r\\nHost : localhost\\r\\n\\r\\n",
            ]
            for i, request in enumerate(cases):
                s = connect()
                s.settimeout(10)
                s.sendall(request)
                got = b""
                while True:
                    part = s.recv(65536)
                    if not part: break
                    got += part
                head, body = got.split(b"\\r\\n\\r\\n", 1)
                print("case", i, head.split(b"\\r\\n")[0].decode(), b"connection: close" in head.lower(), body.decode())
                s.close()
            """)
        #expect(output.contains("case 0 HTTP/1.1 400 Bad Request True"), "\(output)")
        #expect(output.contains("both Transfer-Encoding and Content-Length"), "\(output)")
        #expect(output.contains("case 1 HTTP/1.1 501 Not Implemented True"), "\(output)")
        #expect(output.contains("transfer codings other than chunked are not supported"), "\(output)")
        #expect(output.contains("case 2 HTTP/1.1 400 Bad Request True"), "\(output)")
        #expect(output.contains("obsolete line folding"), "\(output)")
        #expect(output.contains("case 3 HTTP/1.1 400 Bad Request True"), "\(output)")
        #expect(output.contains("malformed header field name"), "\(output)")
        try await gateway.stop()
    }

    /// Keep-alive requests alternate between the loop path and the task path on one connection.
    @Test func keepAliveAlternatesBetweenPaths() async throws {
        let gateway = try await TestGateway.start()
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki, script: """
            s = connect()
            s.settimeout(10)
            codes = []
            for i in range(6):
                if i % 2 == 0:
                    s.sendall(b"GET /public/k%d HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n" % i)
                else:
                    s.sendall(b"PUT /public/k%d HTTP/1.1\\r\\nHost: localhost\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n3\\r\\nabc\\r\\n0\\r\\n\\r\\n" % i)
                got = b""
                while b"\\r\\n\\r\\n" not in got:
                    got += s.recv(65536)
                head, _, rest = got.partition(b"\\r\\n\\r\\n")
                length = int([l.split(b":")[1] for l in head.split(b"\\r\\n") if l.lower().startswith(b"content-length:")][0])
                while len(rest) < length:
                    rest += s.recv(65536)
                codes.append(head.split(b" ")[1].decode())
                assert (b'"path":"/k%d"' % i) in rest, rest
            print("codes", " ".join(codes))
            """)
        #expect(output.contains("codes 200 200 200 200 200 200"), "\(output)")
        try await gateway.stop()
    }

    /// Every header the gateway treats specially is dropped whatever its case (the fast classifier
    /// must never call one of them ordinary), and ordinary ones pass.
    @Test func specialHeadersInAnyCaseAreDroppedAndOrdinaryOnesPass() async throws {
        let gateway = try await TestGateway.start()
        let special = ["Keep-Alive: 5", "TE: trailers", "Trailer: X-T", "PROXY-AUTHORIZATION: x", "Proxy-Connection: x",
                       "HTTP2-Settings: x", "X-Forwarded-Proto: evil", "x-FORWARDED-host: evil", "Client-Cert: :eA==:",
                       "CLIENT-CERT-CHAIN: :eA==:", "X-SSL-Client-Verify: SUCCESS", "SSL_Client_Cert: x", "x_forwarded_for: 6.6.6.6",
                       "X-ARR-ClientCert: x", "Connection: X-Drop-Me", "X-Drop-Me: 1", "Expect: nothing", "Upgrade-Insecure: 1"]
        let ordinary = ["Accept: a/b", "User-Agent: ua", "Cookie: c=1", "Content-Type: t/t", "Cache-Control: no-cache",
                        "Authorization: Bearer t", "Date: today", "Via: 1.1 x", "X-Plain: p"]
        let lines = (special + ordinary).map { $0 + "\\r\\n" }.joined()
        let output = try await RawTLS.run(port: gateway.port, pki: gateway.pki, script: """
            s = connect()
            s.sendall(b"GET /public/h HTTP/1.1\\r\\nHost: localhost\\r\\n\(lines)Connection: close\\r\\n\\r\\n")
            \(Self.readAll)
            body = text.partition("\\r\\n\\r\\n")[2].lower()
            print("body", body)
            """)
        let body = output.split(separator: "\n").first { $0.hasPrefix("body ") }.map(String.init) ?? output
        for header in ["keep-alive", "\"te\"", "trailer", "proxy-authorization", "proxy-connection", "http2-settings",
                       "client-cert", "x-ssl-client-verify", "ssl_client_cert", "x_forwarded_for", "x-arr-clientcert",
                       "x-drop-me", "expect", "evil", "6.6.6.6"] {
            #expect(!body.contains(header), "\(header) reached the backend: \(body)")
        }
        for header in ["\"accept\"", "user-agent", "cookie", "content-type", "cache-control", "authorization", "\"date\"",
                       "\"via\"", "x-plain", "upgrade-insecure"] {
            #expect(body.contains(header), "\(header) did not reach the backend: \(body)")
        }
        #expect(body.contains("\"x-forwarded-proto\":\"https\""), "\(body)")
        try await gateway.stop()
    }

    /// A policy that moves the request (set-backend-service with a base path, rewrite-uri, a query
    /// parameter) is forwarded where it says, on the event-loop path (HTTP/1.1) and from a stream
    /// handler (HTTP/2): the backend URL is split without URLComponents in the common spelling.
    @Test func policyRewrittenBackendURLIsFollowedOnBothProtocols() async throws {
        let policy = FileManager.default.temporaryDirectory.appendingPathComponent("rewrite-\(UUID().uuidString).xml").path
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, echoPort in
            let xml = """
                <policies><inbound>
                <set-backend-service base-url="http://127.0.0.1:\(echoPort)/base/" />
                <rewrite-uri template="/v2/items/{id}" />
                <set-query-parameter name="q" exists-action="override"><value>a b</value></set-query-parameter>
                </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
                """
            try? xml.write(toFile: policy, atomically: true, encoding: .utf8)
            config.apis[0].operations = [OperationConfig(name: "item", method: "GET", urlTemplate: "/items/{id}")]
            config.apis[0].requireTrustedClientCertificate = false
            config.apis[0].policyFile = policy
        })
        for http in ["--http1.1", "--http2"] {
            let result = try await Curl.run(SecurityProbeTests.common(gateway) + [http, "\(gateway.baseURL)/echo/items/42?keep=1"])
            #expect(result.httpCode == 200, "\(http): \(result.stderr) \(result.body)")
            #expect(result.body.contains("\"path\":\"\\/base\\/v2\\/items\\/42?") || result.body.contains("\"path\":\"/base/v2/items/42?"),
                    "\(http): \(result.body)")
            #expect(result.body.contains("q=a%20b") || result.body.contains("q=a+b"), "\(http): \(result.body)")
        }
        try await gateway.stop()
    }
}
