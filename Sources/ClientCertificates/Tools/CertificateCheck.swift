import Foundation

/// `drawbridge certcheck`: offline verification of a leaf against trusted and untrusted certificates
/// and CRLs, printing a verdict with its reason code (text or JSON). Exit status 0 only when valid.
public struct CertificateCheckRequest: Sendable {
    public var trustedPaths: [String]
    public var untrustedPaths: [String]
    public var leafPath: String
    public var crlPaths: [String]
    /// ISO 8601; nil = now.
    public var time: String?
    /// clientAuth | serverAuth | any | dotted OID.
    public var eku: String
    public var maxDepth: Int
    public var json: Bool
    public var failOpen: Bool
    public var leafOnlyRevocation: Bool

    public init(
        trustedPaths: [String], untrustedPaths: [String] = [], leafPath: String, crlPaths: [String] = [],
        time: String? = nil, eku: String = "clientAuth", maxDepth: Int = 5, json: Bool = false,
        failOpen: Bool = false, leafOnlyRevocation: Bool = false
    ) {
        self.trustedPaths = trustedPaths
        self.untrustedPaths = untrustedPaths
        self.leafPath = leafPath
        self.crlPaths = crlPaths
        self.time = time
        self.eku = eku
        self.maxDepth = maxDepth
        self.json = json
        self.failOpen = failOpen
        self.leafOnlyRevocation = leafOnlyRevocation
    }
}

public struct CertificateCheckReport: Sendable {
    public let result: VerificationResult
    public let output: String
    public var exitCode: Int32 { result.isValid ? 0 : 1 }
}

public enum CertificateCheck {
    /// Revocation is checked when CRLs are given (fail-closed unless `failOpen`), off otherwise.
    public static func run(_ request: CertificateCheckRequest) async throws -> CertificateCheckReport {
        func certificates(_ paths: [String]) throws -> [X509Certificate2] {
            try paths.flatMap { path in try CertificateLoader.load(try read(path)) }
        }
        guard let usage = KeyUsageRequirement(parsing: request.eku) else {
            throw CertificateToolError.invalidArgument("--eku must be clientAuth, serverAuth, any or a dotted OID, not '\(request.eku)'")
        }
        guard request.maxDepth >= 0 else { throw CertificateToolError.invalidArgument("--max-depth must be 0 or more") }
        var time: Date?
        if let text = request.time {
            guard let parsed = parseISO8601(text) else {
                throw CertificateToolError.invalidArgument("--time must be ISO 8601 (e.g. 2025-01-31T12:00:00Z), not '\(text)'")
            }
            time = parsed
        }
        let trusted = try certificates(request.trustedPaths)
        let untrusted = try certificates(request.untrustedPaths)
        guard let leaf = try CertificateLoader.load(try read(request.leafPath)).first else {
            throw CertificateLoadingError.noCertificates
        }
        var crls: [CertificateRevocationList] = []
        for path in request.crlPaths {
            let bytes = try read(path)
            if let text = String(validating: bytes, as: UTF8.self), text.contains("-----BEGIN") {
                crls += try CertificateRevocationList.parseAll(pem: text)
            } else {
                crls.append(try CertificateRevocationList(derEncoded: bytes))
            }
        }
        let options = VerificationOptions(
            requiredUsage: usage, maxDepth: request.maxDepth, validationTime: time, checkRevocation: !crls.isEmpty,
            revocationFailureMode: request.failOpen ? .failOpen : .failClosed,
            revocationScope: request.leafOnlyRevocation ? .leaf : .chain)
        let context = VerificationContext(
            trustStore: TrustStore(version: 1, roots: trusted),
            revocation: RevocationSources(store: try CRLStore(version: 1, crls: crls)), options: options)
        let result = await leaf.verify(with: context, presented: untrusted)
        return CertificateCheckReport(result: result, output: request.json ? json(result, leaf: leaf) : text(result))
    }

    static func text(_ result: VerificationResult) -> String {
        if result.isValid {
            return "VALID\n" + result.chain.enumerated().map { "  [\($0.offset)] \($0.element.subject) (\($0.element.thumbprint))" }
                .joined(separator: "\n")
        }
        guard let failure = result.failure else { return "INVALID" }
        return "INVALID \(failure.reason.rawValue) [\(failure.kind.rawValue)]: \(failure.message)"
    }

    static func json(_ result: VerificationResult, leaf: X509Certificate2) -> String {
        var object: [String: Any] = [
            "valid": result.isValid,
            "leaf": ["subject": leaf.subject, "thumbprint": leaf.thumbprint],
            "chain": result.chain.map { ["subject": $0.subject, "thumbprint": $0.thumbprint] },
        ]
        if let failure = result.failure {
            object["reason"] = failure.reason.rawValue
            object["kind"] = failure.kind.rawValue
            object["message"] = failure.message
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    static func read(_ path: String) throws -> [UInt8] {
        do { return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw CertificateToolError.unreadableFile(path: path, reason: error.localizedDescription)
        }
    }

    static func parseISO8601(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
