import Crypto
import Foundation
import Synchronization
import SwiftASN1
import X509

/// The OCSP status of one certificate of a chain, on swift-certificates' `OCSPVerifierPolicy`
/// (request with a nonce, response signature by the issuer or a delegated responder certificate with
/// id-kp-OCSPSigning issued by it, thisUpdate/nextUpdate, nonce match). The responder is the one
/// the certificate's authorityInfoAccess names; a certificate naming none has an unknown status.
struct OCSPChecker: Sendable {
    let cache: OCSPCache
    let time: Date
    /// Upper bound for one responder exchange.
    let timeout: Duration

    func status(of index: Int, in chain: [Certificate]) async -> RevocationStatus {
        guard index + 1 < chain.count else { return .good }
        let certificate = chain[index]
        let issuer = chain[index + 1]
        let name = label(certificate)
        let responders: [String]
        do {
            responders = (try certificate.extensions.authorityInformationAccess ?? AuthorityInformationAccess([]))
                .filter { $0.method == .ocspServer }
                .compactMap { if case .uniformResourceIdentifier(let uri) = $0.location { return uri } else { return nil } }
        } catch {
            return .unknown("The OCSP status of '\(name)' is unknown: its authorityInfoAccess extension is malformed.")
        }
        guard let responder = responders.first else {
            return .unknown("The OCSP status of '\(name)' is unknown: the certificate names no OCSP responder.")
        }
        let key: OCSPCache.Key
        do {
            key = OCSPCache.Key(certificate: SHA256.hash(data: try Self.der(certificate)), issuer: SHA256.hash(data: try Self.der(issuer)))
        } catch {
            return .unknown("The OCSP status of '\(name)' is unknown: the certificate cannot be encoded.")
        }
        if let known = cache.cached(key, now: time) { return known }

        let requester = Requester(fetcher: cache.fetcher, timeout: timeout)
        // The policy runs on the two-certificate chain (certificate, issuer) that a verifier with the
        // issuer as its only anchor builds; the chain itself was verified by the caller.
        // (Every critical extension was judged by the caller's verification already.)
        let critical = certificate.extensions.filter(\.critical).map(\.oid)
        var verifier = Verifier(rootCertificates: CertificateStore([issuer])) {
            CriticalExtensionPolicy(handled: critical)
            OCSPVerifierPolicy(failureMode: .hard, requester: requester, validationTime: time)
        }
        let outcome = await verifier.validate(leaf: certificate, intermediates: CertificateStore())
        let status: RevocationStatus
        switch outcome {
        case .validCertificate:
            status = .good
        case .couldNotValidate(let failures):
            let text = failures.first.map { "\($0.policyFailureReason)" }
                ?? "the OCSP check could not be run on this certificate and issuer"
            if text.hasPrefix("revoked through OCSP") {
                status = .revoked("'\(name)' (serial \(Hex.upper(certificate.serialNumber.bytes))) is revoked according to the OCSP responder \(responder) (\(text)).")
            } else if text == Self.issuerHasResponder {
                // The policy checks the chain's last certificate (here the issuer) has no responder
                // after the certificate itself was found good; the issuer's status is its own check.
                status = .good
            } else {
                return .unknown("The OCSP status of '\(name)' is unknown: \(requester.failure ?? text).")
            }
        }
        cache.store(status, for: key, nextUpdate: requester.nextUpdate, now: time)
        return status
    }

    /// swift-certificates' reason when the last certificate of the chain it is given names a responder.
    static let issuerHasResponder = "root certificate is not allowed to have an OCSP URI"

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// Adapts an `OCSPFetcher` to swift-certificates' requester; remembers the failure and the
    /// response's nextUpdate for the verdict and the cache.
    final class Requester: OCSPRequester {
        let fetcher: any OCSPFetcher
        let timeout: Duration
        private let outcome = Mutex<(failure: String?, nextUpdate: Date?)>((nil, nil))

        init(fetcher: any OCSPFetcher, timeout: Duration) {
            self.fetcher = fetcher
            self.timeout = timeout
        }

        var failure: String? { outcome.withLock { $0.failure } }
        var nextUpdate: Date? { outcome.withLock { $0.nextUpdate } }

        func query(request: [UInt8], uri: String) async -> OCSPRequesterQueryResult {
            do {
                let response = try await fetcher.fetchOCSP(request: request, from: uri, timeout: timeout)
                let next = OCSPNextUpdate.earliest(in: response)
                outcome.withLock { $0.nextUpdate = next }
                return .response(response)
            } catch {
                // Terminal: the policy fails, and our fail-open/closed mode decides on "unknown".
                outcome.withLock { $0.failure = "\(error)" }
                return .terminalError(error)
            }
        }
    }
}
