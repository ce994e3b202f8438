import Foundation
import SwiftASN1
import X509

/// Chain verification on swift-certificates' `Verifier` with Drawbridge's policies: signature chain
/// to a trust anchor (intermediates from the presented chain and the CA store), validity, basic
/// constraints and path length, key usage, EKU, name constraints, critical extensions, depth and,
/// when enabled, CRL revocation.
public enum ChainVerifier {
    /// Extensions Drawbridge processes; any other critical extension fails the chain.
    static let handledCriticalExtensions: Set<ASN1ObjectIdentifier> = Set<ASN1ObjectIdentifier>([
        .X509ExtensionID.basicConstraints, .X509ExtensionID.keyUsage, .X509ExtensionID.extendedKeyUsage,
        .X509ExtensionID.nameConstraints, .X509ExtensionID.subjectAlternativeName,
    ]).union(CertificatePoliciesPolicy.handled)

    /// Verifies `leaf` with the extra certificates the client presented (any order; unrelated ones
    /// are ignored). A chain longer than `options.maxPresentedCertificates` (leaf included) is refused
    /// outright, and chain building stops after `options.maxPathBuildingCandidates` candidate issuers:
    /// the client chooses the chain, so its cost must be bounded whatever it contains.
    public static func verify(
        leaf: X509Certificate2, presented: [X509Certificate2] = [], context: VerificationContext
    ) async -> VerificationResult {
        if let refusal = presentedChainRefusal(count: 1 + presented.count, options: context.options) {
            return refusal
        }
        let time = context.options.validationTime ?? context.clock()
        var cacheKey: VerificationCache.Key?
        if let cache = context.cache {
            let key = cache.key(leaf: leaf, chain: presented, context: context, time: time)
            // A valid answer is reused only while every certificate of its chain is within its
            // validity period (a bucket must not stretch an expiry).
            if let hit = cache.lookup(key), !hit.isValid || hit.chain.allSatisfy({ $0.notBefore <= time && time <= $0.notAfter }) {
                return hit
            }
            cacheKey = key
        }
        guard let leafCertificate = leaf.certificate else {
            return .invalid(VerificationFailure(
                .invalidCertificate,
                "The client certificate cannot be verified: \(leaf.unsupportedReason ?? "unsupported certificate")."))
        }
        let result = await verifyUncached(
            leaf: leafCertificate, presented: presented.compactMap(\.certificate), context: context, time: time,
            signerDepth: 0, budget: PathBuildingBudget(limit: context.options.maxPathBuildingCandidates),
            originals: [leaf] + presented)
        if let cache = context.cache, let cacheKey { cache.store(result, for: cacheKey) }
        return result
    }

    /// The cached answer for this chain and context, without doing any work (for synchronous
    /// callers such as the expression evaluator after the gateway verified the request's certificate).
    public static func cachedResult(
        leaf: X509Certificate2, presented: [X509Certificate2] = [], context: VerificationContext,
        chainDigest: CertificateChainDigest? = nil
    ) -> VerificationResult? {
        if let refusal = presentedChainRefusal(count: 1 + presented.count, options: context.options) { return refusal }
        guard let cache = context.cache else { return nil }
        let time = context.options.validationTime ?? context.clock()
        return cache.lookup(cache.key(leaf: leaf, chain: presented, context: context, time: time, chainDigest: chainDigest))
    }

    /// The refusal of a presented chain of `count` certificates (leaf included), nil when it is short enough.
    public static func presentedChainRefusal(count: Int, options: VerificationOptions) -> VerificationResult? {
        guard count > options.maxPresentedCertificates else { return nil }
        return .invalid(VerificationFailure(
            .presentedChainTooLong,
            "The client presented \(count) certificates; at most \(options.maxPresentedCertificates) (leaf included) are accepted."))
    }

    static func verifyUncached(
        leaf: Certificate, presented: [Certificate], context: VerificationContext, time: Date, signerDepth: Int,
        budget: PathBuildingBudget, originals: [X509Certificate2] = [], provisionalSigners: [Certificate] = []
    ) async -> VerificationResult {
        if let unhandled = leaf.extensions.first(where: { $0.critical && !handledCriticalExtensions.contains($0.oid) }) {
            return .invalid(VerificationFailure(
                .unhandledCriticalExtension, "The client certificate has an unsupported critical extension \(unhandled.oid)."))
        }
        let trust = context.trustStore
        let options = context.options
        let intermediates = NameMatchingCertificateStore(presented + trust.intermediates.compactMap(\.certificate))
        let roots = trust.rootStore
        let pool = presented + trust.intermediates.compactMap(\.certificate) + trust.roots.compactMap(\.certificate)
        let checker = RevocationChecker(
            sources: context.revocation, time: time,
            validateSigner: { signer in
                guard signerDepth < 2 else { return false }
                var signerContext = context
                signerContext.options.requiredUsage = .any
                signerContext.cache = nil
                // The signer's own status may come from the CRL it signed (PKITS 4.14.30): while its
                // path is validated, its signature is provisionally accepted.
                let result = await verifyUncached(
                    leaf: signer, presented: pool, context: signerContext, time: time, signerDepth: signerDepth + 1,
                    budget: budget, provisionalSigners: provisionalSigners + [signer])
                return result.isValid
            },
            signerPool: pool, provisionalSigners: provisionalSigners)

        var verifier = Verifier(rootCertificates: CertificateStore(custom: BudgetedCertificateStore(roots, budget: budget))) {
            CriticalExtensionPolicy(handled: Array(handledCriticalExtensions))
            ChainDepthPolicy(maxIntermediates: options.maxDepth)
            RFC5280ProfilePolicy(enabled: options.enforceRFC5280Profile)
            ValidityPeriodPolicy(time: time, checkNotBefore: options.checkNotBefore, checkNotAfter: options.checkNotAfter)
            CertificateAuthorityPolicy()
            ExtendedKeyUsagePolicy(requirement: options.requiredUsage)
            SubtreeNameConstraintsPolicy()
            CertificatePoliciesPolicy(
                initialPolicySet: options.initialPolicySet, initialExplicitPolicy: options.initialExplicitPolicy,
                initialPolicyMappingInhibit: options.initialPolicyMappingInhibit,
                initialAnyPolicyInhibit: options.initialAnyPolicyInhibit)
            if options.checkRevocation {
                RevocationPolicy(
                    checker: checker, ocsp: context.revocation.ocsp.map { OCSPChecker(cache: $0, time: time, timeout: context.revocation.ocspTimeout) },
                    method: options.revocationMethod, scope: options.revocationScope,
                    failureMode: options.revocationFailureMode)
            }
        }
        let outcome = await verifier.validate(
            leaf: leaf, intermediates: CertificateStore(custom: BudgetedCertificateStore(intermediates, budget: budget)))
        if case .couldNotValidate = outcome, budget.exhausted {
            // The search was cut short, so the failures seen so far say nothing definite.
            return .invalid(VerificationFailure(
                .pathBuildingLimitExceeded,
                "Chain building for '\(label(leaf))' (issuer '\(issuerLabel(leaf))') was stopped after \(budget.used) candidate issuer certificates (limit \(budget.limit)) without reaching a trusted root; the chain offers too many candidate paths (such as many intermediates sharing a subject)."))
        }
        switch outcome {
        case .validCertificate(let chain):
            let known = originals + trust.roots + trust.intermediates
            let wrapped = chain.compactMap { certificate in
                known.first { $0.certificate == certificate }
                    ?? (try? DER.Serializer.serialized(element: certificate)).flatMap { try? X509Certificate2(derEncoded: $0) }
            }
            return .valid(wrapped)
        case .couldNotValidate(let failures):
            guard let first = failures.first else {
                let unusable = (originals + trust.roots + trust.intermediates).filter { $0.certificate == nil }
                    .map { "'\($0.subject)' (\($0.unsupportedReason ?? "unsupported"))" }
                let note = unusable.isEmpty ? "" : " Certificates that could not be used: " + unusable.joined(separator: "; ") + "."
                return .invalid(VerificationFailure(
                    .noPathToTrustedRoot,
                    "A certificate chain could not be built to a trusted root authority for '\(label(leaf))' (issuer '\(issuerLabel(leaf))').\(note)"))
            }
            // The first failure is the most preferred candidate chain; report it.
            return .invalid(VerificationFailure(decoding: first.policyFailureReason.description))
        }
    }

    static func issuerLabel(_ certificate: Certificate) -> String {
        (try? X500DistinguishedName(certificate.issuer).name) ?? String(describing: certificate.issuer)
    }
}

/// Declares the extensions Drawbridge processes so swift-certificates' Verifier refuses issuers with
/// any other critical extension (the leaf is checked before chain building for a precise message).
struct CriticalExtensionPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier]

    init(handled: [ASN1ObjectIdentifier]) { verifyingCriticalExtensions = handled }

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult { .meetsPolicy }
}
