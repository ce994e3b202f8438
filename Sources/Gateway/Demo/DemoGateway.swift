import ClientCertificates
import Foundation
import GatewayConfiguration

/// The embedded default: one hostname (`localhost`) asking for client certificates in the handshake,
/// an API (`/echo`) forwarding to the built-in echo backend and guarded by the seed's APIM policy
/// (`Verify()` + thumbprint), and an open API (`/public`).
public enum DemoGateway {
    /// The seed's thumbprint policy, verbatim but for the demo client's thumbprint.
    public static func seedPolicy(thumbprint: String) -> String {
        """
        <policies>
            <inbound>
                <base />
                <choose>
                    <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Verify() || context.Request.Certificate.Thumbprint != "\(thumbprint)")" >
                        <return-response>
                            <set-status code="403" reason="Invalid client certificate" />
                        </return-response>
                    </when>
                </choose>
            </inbound>
            <backend>
                <base />
            </backend>
            <outbound>
                <base />
            </outbound>
            <on-error>
                <base />
            </on-error>
        </policies>

        """
    }

    /// Writes the demo API's policy next to the PKI (with the demo client's thumbprint) and returns its path.
    public static func writePolicy(pki: DemoPKI) throws -> String {
        let pem = try String(contentsOfFile: pki.clientCertificate, encoding: .utf8)
        guard let client = try CertificateLoader.load(pem: pem).first else {
            throw GatewayStartupError.file(path: pki.clientCertificate, reason: "no certificate")
        }
        let path = ((pki.directory as NSString).deletingLastPathComponent as NSString).appendingPathComponent("policies/echo.xml")
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(seedPolicy(thumbprint: client.thumbprint).utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    public static func configuration(pki: DemoPKI, echoPort: Int, port: Int = 8443, address: String = "127.0.0.1",
                                     policyFile: String? = nil) -> GatewayConfig {
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
                    requireTrustedClientCertificate: policyFile == nil,
                    policyFile: policyFile),
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

          # 403: an expired certificate, one from an unknown CA, one revoked (the demo CRL lists it)
          curl --cacert \(pki.rootCA) --cert \(pki.expiredClientCertificate) --key \(pki.expiredClientKey) \(base)/echo/users/42
          curl --cacert \(pki.rootCA) --cert \(pki.unknownClientCertificate) --key \(pki.unknownClientKey) \(base)/echo/users/42
          curl --cacert \(pki.rootCA) --cert \(pki.revokedClientCertificate) --key \(pki.revokedClientKey) \(base)/echo/users/42

          # HTTP/2 with a 10 MiB upload, and an API open to everyone
          head -c 10485760 /dev/urandom > /tmp/10m.bin
          curl --http2 --cacert \(pki.rootCA) --cert \(pki.clientCertificate) --key \(pki.clientKey) --data-binary @/tmp/10m.bin \(base)/echo/upload
          curl --cacert \(pki.rootCA) \(base)/public/hello

        The /echo API runs the APIM policy in \(((pki.directory as NSString).deletingLastPathComponent as NSString).appendingPathComponent("policies/echo.xml")).
        Press Ctrl-C to stop (in-flight requests are drained).

        """
    }
}
