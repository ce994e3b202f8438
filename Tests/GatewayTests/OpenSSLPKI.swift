import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A two-tier PKI made by hand with the `openssl` command line, as a new user following a tutorial
/// would: root CA → issuing (intermediate) CA → client certificates, no CRL distribution points,
/// `openssl ca` databases (index.txt) so certificates can be revoked and CRLs generated.
struct OpenSSLPKI: Sendable {
    let directory: String
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") }

    var rootCA: String { path("root/ca.pem") }
    var issuingCA: String { path("issuing/ca.pem") }
    var rootConfig: String { path("root/ca.cnf") }
    var issuingConfig: String { path("issuing/ca.cnf") }
    func certificate(_ name: String) -> String { path("\(name).pem") }
    func key(_ name: String) -> String { path("\(name)-key.pem") }
    func path(_ relative: String) -> String { (directory as NSString).appendingPathComponent(relative) }

    /// Creates the CAs and one client certificate per name in `clients`; with `ocspURL`, the client
    /// certificates name that OCSP responder (authorityInfoAccess).
    static func create(clients: [String], ocspURL: String? = nil) throws -> OpenSSLPKI {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-openssl-pki-\(UUID().uuidString)").path
        let pki = OpenSSLPKI(directory: directory)
        for ca in ["root", "issuing"] {
            try FileManager.default.createDirectory(atPath: pki.path("\(ca)/newcerts"), withIntermediateDirectories: true)
            try Data().write(to: URL(fileURLWithPath: pki.path("\(ca)/index.txt")))
            try Data("1000\n".utf8).write(to: URL(fileURLWithPath: pki.path("\(ca)/serial")))
            try Data("1000\n".utf8).write(to: URL(fileURLWithPath: pki.path("\(ca)/crlnumber")))
            try Data(config(pki.path(ca), ocspURL: ocspURL).utf8).write(to: URL(fileURLWithPath: pki.path("\(ca)/ca.cnf")))
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try run(["req", "-x509"] + ec + ["-keyout", pki.path("root/ca-key.pem"), "-out", pki.rootCA, "-subj", "/CN=Hand Root CA",
                 "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try run(["req", "-new"] + ec + ["-keyout", pki.path("issuing/ca-key.pem"), "-out", pki.path("issuing/ca.csr"), "-subj", "/CN=Hand Issuing CA"])
        try run(["ca", "-config", pki.rootConfig, "-batch", "-notext", "-extensions", "v3_issuing", "-in", pki.path("issuing/ca.csr"), "-out", pki.issuingCA])
        for client in clients {
            try run(["req", "-new"] + ec + ["-keyout", pki.key(client), "-out", pki.path("\(client).csr"), "-subj", "/CN=\(client)"])
            try run(["ca", "-config", pki.issuingConfig, "-batch", "-notext", "-extensions", "client", "-in", pki.path("\(client).csr"),
                     "-out", pki.certificate(client)])
        }
        return pki
    }

    func revoke(_ client: String) throws {
        try Self.run(["ca", "-config", issuingConfig, "-revoke", certificate(client)])
    }

    /// The issuing CA's CRL (PEM unless `der`), written to `name`.
    func issuingCRL(_ name: String, der: Bool = false) throws -> String {
        try crl(config: issuingConfig, name: name, der: der)
    }

    func rootCRL(_ name: String, der: Bool = false) throws -> String {
        try crl(config: rootConfig, name: name, der: der)
    }

    private func crl(config: String, name: String, der: Bool) throws -> String {
        let pem = path(name + ".pem-crl")
        try Self.run(["ca", "-config", config, "-gencrl", "-crlexts", "crl_ext", "-out", pem])
        guard der else { return pem }
        try Self.run(["crl", "-in", pem, "-outform", "DER", "-out", path(name)])
        return path(name)
    }

    static func stopOCSPResponder(_ process: Process) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// A responder certificate issued by `issuer` (the issuing CA, or the root with `byRoot`), with
    /// id-kp-OCSPSigning unless `authorised` is false.
    func issueResponder(_ name: String, authorised: Bool = true, byRoot: Bool = false) throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try Self.run(["req", "-new"] + ec + ["-keyout", key(name), "-out", path("\(name).csr"), "-subj", "/CN=\(name)"])
        try Self.run(["ca", "-config", byRoot ? rootConfig : issuingConfig, "-batch", "-notext",
                      "-extensions", authorised ? "ocsp_signer" : "not_ocsp_signer", "-in", path("\(name).csr"), "-out", certificate(name)])
    }

    /// `openssl ocsp` answering for the issuing CA on `port` (signed by the CA itself, or by the
    /// responder certificate `signer`; nextUpdate in 5 minutes), until `stopOCSPResponder` (it ignores
    /// SIGTERM while waiting for connections).
    func startOCSPResponder(port: Int, signer: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["ocsp", "-index", path("issuing/index.txt"), "-port", "\(port)",
                             "-rsigner", signer.map(certificate) ?? issuingCA, "-rkey", signer.map(key) ?? path("issuing/ca-key.pem"),
                             "-CA", issuingCA, "-nmin", "5", "-ignore_err"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready once it listens.
        for _ in 0..<100 where !LoopbackPort.isListening(port) { usleep(50_000) }
        guard LoopbackPort.isListening(port) else {
            Self.stopOCSPResponder(process)
            throw TestFailure("openssl ocsp did not start on port \(port)")
        }
        return process
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("openssl \(arguments.joined(separator: " ")) failed: \(output)")
        }
        return output
    }

    private static func config(_ directory: String, ocspURL: String?) -> String {
        """
        [ ca ]
        default_ca = CA_default
        [ CA_default ]
        dir = \(directory)
        database = $dir/index.txt
        new_certs_dir = $dir/newcerts
        certificate = $dir/ca.pem
        private_key = $dir/ca-key.pem
        serial = $dir/serial
        crlnumber = $dir/crlnumber
        default_md = sha256
        default_days = 30
        default_crl_days = 7
        policy = policy_any
        unique_subject = no
        [ policy_any ]
        commonName = supplied
        [ v3_issuing ]
        basicConstraints = critical,CA:TRUE,pathlen:0
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid:always
        [ client ]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = clientAuth
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid:always
        \(ocspURL.map { "authorityInfoAccess = OCSP;URI:\($0)" } ?? "")
        [ ocsp_signer ]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = OCSPSigning
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid:always
        [ not_ocsp_signer ]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = clientAuth
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid:always
        [ crl_ext ]
        authorityKeyIdentifier = keyid:always

        """
    }
}
