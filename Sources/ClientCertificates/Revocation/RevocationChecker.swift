import Foundation
import X509

/// The revocation status of one certificate (RFC 5280 §6.3, without delta CRLs).
enum RevocationStatus: Sendable {
    case good
    case revoked(String)
    case unknown(String)
}

/// Decides the status of `chain[index]` from the candidate CRLs: each CRL must come from the
/// certificate's issuer (or the cRLIssuer of its distribution point, for indirect CRLs), be current
/// at `time`, match the distribution point and certificate-type scope of its issuingDistributionPoint,
/// and be signed by a key allowed to sign CRLs (the issuer's, or another certificate of the CRL
/// issuer that itself validates to a trust anchor). Together the usable CRLs must cover all reasons.
struct RevocationChecker: Sendable {
    let sources: RevocationSources
    let time: Date
    /// Validates a CRL signer that is not the certificate's own issuer.
    let validateSigner: @Sendable (Certificate) async -> Bool
    /// Certificates that may have signed a CRL (chain, presented and store intermediates, roots).
    let signerPool: [Certificate]
    /// Signers whose path is being validated right now (accepted to break the cycle).
    var provisionalSigners: [Certificate] = []

    func status(of index: Int, in chain: [Certificate]) async -> RevocationStatus {
        let certificate = chain[index]
        guard index + 1 < chain.count else { return .good }
        let issuerCertificate = chain[index + 1]
        let points: [DistributionPoint]
        do {
            points = try certificate.extensions[oid: DistributionPoint.extensionOID]
                .map { try DistributionPoint.parseExtension($0.value) } ?? []
        } catch {
            return .unknown("the CRL distribution points of '\(label(certificate))' are malformed")
        }
        let (crls, problems) = await sources.candidates(for: certificate, distributionPoints: points, now: time)
        guard let issuerName = try? X500DistinguishedName(certificate.issuer) else {
            return .unknown("unreadable issuer name")
        }
        let isCA = (try? certificate.extensions.basicConstraints).map {
            if case .isCertificateAuthority = $0 { return true } else { return false }
        } ?? false
        var covered: RevocationReasonFlags = []
        var notes = problems
        for crl in crls {
            guard !crl.isDelta else { continue }  // applied below, on top of their complete CRL
            // RFC 5280 §5.2.3: conforming v2 CRLs carry a cRLNumber; one without it is not trusted.
            guard crl.version == 1 || crl.crlNumber != nil else {
                notes.append("CRL from '\(crl.issuer.name)' has no cRLNumber"); continue
            }
            // Issuer: direct, or indirect through a distribution point's cRLIssuer.
            let direct = crl.normalizedIssuer == NormalizedName(issuerName)
            let viaPoint = points.first { point in
                (point.crlIssuer ?? []).contains { name in
                    if case .directoryName(let dn) = name { return NormalizedName(dn) == crl.normalizedIssuer }
                    return false
                }
            }
            if viaPoint != nil, crl.issuingDistributionPoint?.indirectCRL != true, !direct {
                notes.append("CRL from '\(crl.issuer.name)' is not marked indirect"); continue
            }
            guard direct || viaPoint != nil else { continue }
            // A point naming a different cRLIssuer means the direct CRL is not authoritative for it.
            if direct, viaPoint == nil, !points.isEmpty, points.allSatisfy({ $0.crlIssuer != nil }) {
                notes.append("the certificate names a different CRL issuer"); continue
            }
            guard crl.thisUpdate <= time else { notes.append("CRL from '\(crl.issuer.name)' is not yet valid"); continue }
            if let next = crl.nextUpdate, next < time {
                notes.append("CRL from '\(crl.issuer.name)' expired at \(next)"); continue
            }
            guard let scope = self.scope(of: crl, points: points, issuerName: issuerName, isCA: isCA) else {
                continue
            }
            guard covered.union(scope) != covered else { continue }
            guard await signatureIsTrusted(crl, issuerCertificate: issuerCertificate) else {
                notes.append("CRL from '\(crl.issuer.name)' has no valid signature by an authorised CRL signer"); continue
            }
            let serial = RFC5280ProfilePolicy.rawSerial(certificate) ?? certificate.serialNumber.bytes
            // A current delta CRL extending this one decides for the serials it lists.
            var entries = crl.entries(forSerial: serial)
            if let delta = await applicableDelta(for: crl, issuerCertificate: issuerCertificate) {
                let deltaEntries = delta.entries(forSerial: serial)
                if !deltaEntries.isEmpty { entries = deltaEntries }
            }
            for entry in entries {
                if let issuers = entry.certificateIssuer {
                    let matches = issuers.contains { name in
                        if case .directoryName(let dn) = name { return NormalizedName(dn) == NormalizedName(issuerName) }
                        return false
                    }
                    if !matches { continue }
                } else if !direct {
                    continue  // indirect CRL entries default to the CRL issuer
                }
                if entry.reason == .removeFromCRL { continue }
                if let flag = entry.reason?.flag, !scope.contains(flag) { continue }
                let reasonText = entry.reason.map { " (reason: \($0))" } ?? ""
                return .revoked(
                    "'\(label(certificate))' (serial \(Hex.upper(certificate.serialNumber.bytes))) was revoked on \(entry.revocationDate)\(reasonText) according to the CRL of '\(crl.issuer.name)'.")
            }
            covered.formUnion(scope)
            if covered.isSuperset(of: .all) { return .good }
        }
        let detail = notes.isEmpty ? "no CRL from '\(issuerName.name)' is available" : notes.joined(separator: "; ")
        return .unknown("The revocation status of '\(label(certificate))' is unknown: \(detail).")
    }

    /// The newest delta CRL that extends `base` (same issuer and scope, BaseCRLNumber not above the
    /// base's number, current, properly signed).
    private func applicableDelta(
        for base: CertificateRevocationList, issuerCertificate: Certificate
    ) async -> CertificateRevocationList? {
        guard let baseNumber = base.crlNumber else { return nil }
        var best: CertificateRevocationList?
        for delta in sources.store.deltas(issuedBy: base.normalizedIssuer) {
            guard let deltaBase = delta.deltaCRLIndicator, let deltaNumber = delta.crlNumber,
                CRLNumber.compare(deltaBase, baseNumber) <= 0, CRLNumber.compare(deltaNumber, baseNumber) > 0,
                delta.issuingDistributionPoint == base.issuingDistributionPoint,
                delta.thisUpdate <= time, delta.nextUpdate.map({ $0 >= time }) ?? true
            else { continue }
            if let current = best, let currentNumber = current.crlNumber, CRLNumber.compare(deltaNumber, currentNumber) <= 0 {
                continue
            }
            guard await signatureIsTrusted(delta, issuerCertificate: issuerCertificate) else { continue }
            best = delta
        }
        return best
    }

    /// The reasons this CRL covers for the certificate, or nil when it is out of scope.
    private func scope(
        of crl: CertificateRevocationList, points: [DistributionPoint], issuerName: X500DistinguishedName, isCA: Bool
    ) -> RevocationReasonFlags? {
        var reasons = RevocationReasonFlags.all
        if let idp = crl.issuingDistributionPoint {
            if idp.onlyContainsAttributeCerts { return nil }
            if idp.onlyContainsUserCerts && isCA { return nil }
            if idp.onlyContainsCACerts && !isCA { return nil }
            if let some = idp.onlySomeReasons { reasons = reasons.intersection(some) }
            if let idpName = idp.distributionPoint {
                let idpNames = idpName.resolvedNames(crlIssuer: crl.issuer)
                let candidates: [[AlternativeName]]
                if points.isEmpty {
                    candidates = [[.directoryName(issuerName)]]
                } else {
                    candidates = points.map { point in
                        if let name = point.name { return name.resolvedNames(crlIssuer: crl.issuer) }
                        return point.crlIssuer ?? []
                    }
                }
                guard let index = candidates.firstIndex(where: { names in
                    names.contains { name in idpNames.contains { Self.sameName($0, name) } }
                }) else { return nil }
                if !points.isEmpty, let pointReasons = points[index].reasons { reasons = reasons.intersection(pointReasons) }
                return reasons.isEmpty ? nil : reasons
            }
        }
        if let pointReasons = points.first(where: { $0.reasons != nil })?.reasons, points.count == 1 {
            reasons = reasons.intersection(pointReasons)
        }
        return reasons.isEmpty ? nil : reasons
    }

    static func sameName(_ a: AlternativeName, _ b: AlternativeName) -> Bool {
        if case .directoryName(let x) = a, case .directoryName(let y) = b { return NormalizedName(x) == NormalizedName(y) }
        return a == b
    }

    private func signatureIsTrusted(_ crl: CertificateRevocationList, issuerCertificate: Certificate) async -> Bool {
        var candidates = [issuerCertificate]
        candidates += signerPool.filter { $0 != issuerCertificate && NormalizedName($0.subject) == crl.normalizedIssuer }
        for signer in candidates where NormalizedName(signer.subject) == crl.normalizedIssuer {
            if let usage = try? signer.extensions.keyUsage, !usage.cRLSign { continue }
            guard crl.isSignatureValid(publicKey: signer.publicKey) else { continue }
            if signer == issuerCertificate || provisionalSigners.contains(signer) { return true }
            if await validateSigner(signer) { return true }
        }
        return false
    }
}

/// Comparison of CRL numbers (non-negative DER INTEGER content bytes).
enum CRLNumber {
    static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let x = a.drop(while: { $0 == 0 })
        let y = b.drop(while: { $0 == 0 })
        if x.count != y.count { return x.count < y.count ? -1 : 1 }
        for (l, r) in zip(x, y) where l != r { return l < r ? -1 : 1 }
        return 0
    }
}
