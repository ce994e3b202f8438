import Foundation
import NIOConcurrencyHelpers
import SwiftASN1
import X509

/// The gateway's built-in client-certificate check (`requireTrustedClientCertificate` on an API):
/// the presented chain must lead to one of the hostname's trusted CAs, be valid now, and the leaf,
/// when it lists extended key usages, must allow `clientAuth`.
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

    func evaluate(_ connection: ConnectionInfo) async -> Verdict {
        let now = Date()
        if let cached = connection.gateVerdict.withLockedValue({ $0 }), now.timeIntervalSince(cached.decidedAt) < 60 {
            return cached
        }
        let verdict = await verify(connection, at: now)
        connection.gateVerdict.withLockedValue { $0 = verdict }
        return verdict
    }

    private func verify(_ connection: ConnectionInfo, at now: Date) async -> Verdict {
        guard let leafDER = connection.clientCertificateDER else {
            return Verdict(isTrusted: false, reason: "ClientCertificateNotFound", decidedAt: now)
        }
        let leaf: Certificate
        do {
            leaf = try Certificate(derEncoded: leafDER)
        } catch {
            return Verdict(isTrusted: false, reason: "ClientCertificateNotTrusted: unparseable certificate", decidedAt: now)
        }
        let trusted = connection.hostname.trustedCAs
        let roots = trusted.filter { $0.subject == $0.issuer }
        let storeIntermediates = trusted.filter { $0.subject != $0.issuer }
        let presentedIntermediates = connection.presentedChainDER.dropFirst().compactMap { try? Certificate(derEncoded: $0) }
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy(validationTime: now)
            ClientAuthUsagePolicy()
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(storeIntermediates + presentedIntermediates))
        switch result {
        case .validCertificate:
            return Verdict(isTrusted: true, reason: "trusted", decidedAt: now)
        case .couldNotValidate(let failures):
            let reason: String
            if now > leaf.notValidAfter {
                reason = "ClientCertificateExpired"
            } else if now < leaf.notValidBefore {
                reason = "ClientCertificateNotYetValid"
            } else {
                reason = "ClientCertificateNotTrusted: " + (failures.first.map { "\($0.policyFailureReason)" } ?? "no chain to a trusted CA")
            }
            return Verdict(isTrusted: false, reason: reason, decidedAt: now)
        }
    }
}

/// Leaf certificates that restrict their usage must allow client authentication.
struct ClientAuthUsagePolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        guard let usage = try? chain.leaf.extensions.extendedKeyUsage else {
            return .meetsPolicy
        }
        if usage.contains(.clientAuth) || usage.contains(.any) {
            return .meetsPolicy
        }
        return .failsToMeetPolicy(reason: "leaf certificate's extended key usage does not allow clientAuth")
    }
}
