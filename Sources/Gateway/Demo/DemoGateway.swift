import GatewayConfiguration

/// The embedded default: one hostname (`localhost`) asking for client certificates in the handshake,
/// and one API (`/echo`) forwarding to the built-in echo backend, open only to clients whose
/// certificate chains to the demo CA.
public enum DemoGateway {
    public static func configuration(pki: DemoPKI, echoPort: Int, port: Int = 8443, address: String = "127.0.0.1") -> GatewayConfig {
        GatewayConfig(
            listen: ListenConfig(address: address, port: port),
            hostnames: [
                HostnameConfig(
                    name: "localhost",
                    serverCertificate: .pem(certificateFile: pki.serverCertificate, keyFile: pki.serverKey),
                    clientCertificate: .negotiate,
                    trustedCAFiles: [pki.rootCA, pki.intermediateCA])
            ],
            defaultHostname: "localhost",
            apis: [
                APIConfig(
                    name: "echo", pathPrefix: "/echo", backendURL: "http://127.0.0.1:\(echoPort)",
                    operations: [
                        OperationConfig(name: "get-user", method: "GET", urlTemplate: "/users/{id}"),
                        OperationConfig(name: "any", method: "*", urlTemplate: "/*"),
                    ],
                    requireTrustedClientCertificate: true),
                APIConfig(name: "public-echo", pathPrefix: "/public", backendURL: "http://127.0.0.1:\(echoPort)"),
            ])
    }

    /// Copy-paste commands that show what the demo does.
    public static func instructions(pki: DemoPKI, port: Int) -> String {
        let base = "https://localhost:\(port)"
        return """

        Drawbridge demo is running. Try (from this folder):

          # 200: a client certificate from the demo CA, asked for in the TLS handshake
          curl --cacert \(pki.rootCA) --cert \(pki.clientCertificate) --key \(pki.clientKey) \(base)/echo/users/42

          # 403: no client certificate
          curl --cacert \(pki.rootCA) \(base)/echo/users/42

          # 403: an expired certificate, and one from an unknown CA
          curl --cacert \(pki.rootCA) --cert \(pki.expiredClientCertificate) --key \(pki.expiredClientKey) \(base)/echo/users/42
          curl --cacert \(pki.rootCA) --cert \(pki.unknownClientCertificate) --key \(pki.unknownClientKey) \(base)/echo/users/42

          # HTTP/2 with a 10 MiB upload, and an API open to everyone
          head -c 10485760 /dev/urandom > /tmp/10m.bin
          curl --http2 --cacert \(pki.rootCA) --cert \(pki.clientCertificate) --key \(pki.clientKey) --data-binary @/tmp/10m.bin \(base)/echo/upload
          curl --cacert \(pki.rootCA) \(base)/public/hello

        Press Ctrl-C to stop (in-flight requests are drained).

        """
    }
}
