import GatewayConfiguration
import NIOSSL
import X509

/// A hostname configuration made ready for the data plane: its TLS context (built once, at load) and
/// the CA certificates its clients are checked against.
public struct TLSHostname: Sendable {
    public let config: HostnameConfig
    public let sslContext: NIOSSLContext
    /// Trusted CA certificates (roots and intermediates) for this hostname's client certificates.
    public let trustedCAs: [Certificate]

    public var name: String { config.normalizedName }
    public var clientCertificateMode: ClientCertificateMode { config.clientCertificate }

    public init(config: HostnameConfig) throws {
        self.config = config
        let (chain, key) = try Self.loadServerIdentity(config)
        let caPEMs = try config.trustedCAFiles.flatMap { try PEMFiles.certificates(inFile: $0) }
        self.trustedCAs = try caPEMs.map { try Certificate(pemEncoded: $0) }
        let caCertificates = try caPEMs.map { try NIOSSLCertificate(bytes: Array($0.utf8), format: .pem) }

        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = config.tls.minimumVersion == .tls13 ? .tlsv13 : .tlsv12
        tls.maximumTLSVersion = .tlsv13
        // The hostname's profile (default Mozilla intermediate: ECDHE + AEAD only for TLS 1.2).
        tls.cipherSuites = config.tls.cipherSuites.joined(separator: ":")
        tls.curves = config.tls.curves.compactMap(Self.curve)
        tls.applicationProtocols = config.http2 ? ["h2", "http/1.1"] : ["http/1.1"]
        // CA names are not sent: large lists break CertificateRequest (envoy#14208, haproxy#1011),
        // and clients that hold one certificate do not need them.
        tls.sendCANameList = false
        switch config.clientCertificate {
        case .off:
            tls.certificateVerification = .none
        case .negotiate:
            // Ask in the initial handshake; the connection's custom callback accepts any chain and
            // keeps it: policies decide (Verify(), validate-client-certificate).
            tls.certificateVerification = .optionalVerification
            tls.trustRoots = .certificates(caCertificates)
        case .required:
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(caCertificates)
        }
        do {
            self.sslContext = try NIOSSLContext(configuration: tls)
        } catch {
            throw GatewayStartupError.tls(hostname: config.name, reason: "cannot build TLS context: \(error)")
        }
    }

    static func curve(_ name: String) -> NIOTLSCurve? {
        switch name {
        case "x25519": return .x25519
        case "secp256r1": return .secp256r1
        case "secp384r1": return .secp384r1
        case "secp521r1": return .secp521r1
        case "x25519mlkem768": return .x25519_MLKEM768
        default: return nil
        }
    }

    static func loadServerIdentity(_ config: HostnameConfig) throws -> ([NIOSSLCertificate], NIOSSLPrivateKey) {
        switch config.serverCertificate {
        case .pem(let certificateFile, let keyFile):
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
            } catch {
                throw GatewayStartupError.tls(hostname: config.name, reason: "cannot read server certificate \(certificateFile): \(error)")
            }
            guard !chain.isEmpty else {
                throw GatewayStartupError.tls(hostname: config.name, reason: "\(certificateFile) holds no PEM certificate")
            }
            do {
                return (chain, try NIOSSLPrivateKey(file: keyFile, format: .pem))
            } catch {
                // The error text never includes key material.
                throw GatewayStartupError.tls(hostname: config.name, reason: "cannot read private key \(keyFile): \(error)")
            }
        case .pkcs12(let file, let password):
            do {
                let bundle = try NIOSSLPKCS12Bundle(file: file, passphrase: Array(password.utf8))
                return (bundle.certificateChain, bundle.privateKey)
            } catch {
                throw GatewayStartupError.tls(hostname: config.name, reason: "cannot open PKCS#12 \(file) (wrong password or damaged file): \(error)")
            }
        }
    }
}
