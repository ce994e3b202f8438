import ClientCertificates
import Foundation
import NIOConcurrencyHelpers

/// The gateway's built-in client-certificate check (`requireTrustedClientCertificate` on an API):
/// the presented chain must verify against the hostname's trusted CAs with the same `ChainVerifier`,
/// options and revocation settings as `Verify()` (validity, EKU clientAuth, name constraints, the
/// RFC 5280 profile, CRLs), so a revoked certificate never passes here either.
///
/// Policies (`Verify()`, `validate-client-certificate`) are the general mechanism; this gate serves
/// deployments that want certificate checks without writing a policy. The verdict is cached per
/// connection, for at most a minute, so repeat requests pay nothing.
struct ClientCertificateGate: Sendable {
    struct Verdict: Sendable {
        let isTrusted: Bool
        let reason: String
        let decidedAt: Date
    }

    func evaluate(_ connection: ConnectionInfo, context: VerificationContext?) async -> Verdict {
        let now = Date()
        if let cached = Self.cachedVerdict(connection, now: now) { return cached }
        let verdict = await Self.verify(connection.presentedChainDER, context: context, at: now)
        connection.gateVerdict.withLockedValue { $0 = verdict }
        return verdict
    }

    /// The connection's verdict when one was reached less than a minute ago (no waiting).
    static func cachedVerdict(_ connection: ConnectionInfo, now: Date = Date()) -> Verdict? {
        guard let cached = connection.gateVerdict.withLockedValue({ $0 }), now.timeIntervalSince(cached.decidedAt) < 60 else {
            return nil
        }
        return cached
    }

    /// The verdict on a presented chain (leaf first). Also used in the handshake of `required` mode.
    static func verify(_ chainDER: [[UInt8]], context: VerificationContext?, at now: Date) async -> Verdict {
        guard let leafDER = chainDER.first else {
            return Verdict(isTrusted: false, reason: "ClientCertificateNotFound", decidedAt: now)
        }
        guard let context else {
            return Verdict(isTrusted: false, reason: "ClientCertificateNotTrusted: the hostname trusts no CA", decidedAt: now)
        }
        // An over-long chain is refused by ChainVerifier itself (before any parsing work there).
        let leaf: X509Certificate2
        do {
            leaf = try X509Certificate2(derEncoded: leafDER)
        } catch {
            return Verdict(isTrusted: false, reason: "ClientCertificateNotTrusted: unparseable certificate", decidedAt: now)
        }
        let presented = chainDER.dropFirst().compactMap { try? X509Certificate2(derEncoded: $0) }
        let result = await ChainVerifier.verify(leaf: leaf, presented: presented, context: context)
        if result.isValid {
            return Verdict(isTrusted: true, reason: "trusted", decidedAt: now)
        }
        return Verdict(isTrusted: false, reason: "\(result.reason?.rawValue ?? "ClientCertificateNotTrusted"): \(result.message)", decidedAt: now)
    }
}

