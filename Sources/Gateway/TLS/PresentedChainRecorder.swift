import ClientCertificates
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// Keeps the chain a client presents in the handshake.
///
/// - `negotiate`: any chain is accepted by TLS on purpose: policies (`Verify()`,
///   `validate-client-certificate`) do the real verification, with the CA store's intermediates, at
///   request time.
/// - `required`: the chain is decided in the handshake by the same `ChainVerifier` as `Verify()`
///   (trust, validity, EKU, name constraints, revocation per the hostname's settings): BoringSSL only
///   collects it.
/// Either way a chain longer than `maxCertificates` is refused in the handshake: path building over
/// many same-subject certificates is the one piece of verification whose cost a client controls.
final class PresentedChainRecorder: Sendable {
    /// The most certificates (leaf included) a client may present. Real client chains have 1–4.
    static let maxCertificates = VerificationOptions.defaultMaxPresentedCertificates

    private let chain = NIOLockedValueBox<[[UInt8]]>([])

    var presentedChain: [[UInt8]] { chain.withLockedValue { $0 } }

    private func record(_ certificates: [NIOSSLCertificate]) -> [[UInt8]]? {
        guard certificates.count <= Self.maxCertificates else { return nil }
        let read = certificates.compactMap { try? $0.toDERBytes() }
        guard read.count == certificates.count else { return nil }
        let der = PresentedChainInterner.shared.intern(read)
        chain.withLockedValue { $0 = der }
        return der
    }

    /// `negotiate` mode: accept and keep any (reasonably sized) chain.
    func acceptAndRecord(logger: Logger) -> NIOSSLCustomVerificationCallback {
        { certificates, promise in
            guard self.record(certificates) != nil else {
                logger.info("TLS refused: client certificate chain too long or unreadable",
                            metadata: ["certificates": "\(certificates.count)", "limit": "\(Self.maxCertificates)"])
                promise.succeed(.failed)
                return
            }
            promise.succeed(.certificateVerified)
        }
    }

    /// `required` mode: keep the chain and decide with `ChainVerifier` before the handshake ends.
    func verifyAndRecord(context: VerificationContext?, logger: Logger) -> NIOSSLCustomVerificationCallback {
        { certificates, promise in
            guard let der = self.record(certificates) else {
                logger.info("TLS refused: client certificate chain too long or unreadable",
                            metadata: ["certificates": "\(certificates.count)", "limit": "\(Self.maxCertificates)"])
                promise.succeed(.failed)
                return
            }
            Task {
                let verdict = await ClientCertificateGate.verify(der, context: context, at: Date())
                if !verdict.isTrusted {
                    logger.info("TLS refused: client certificate not accepted", metadata: ["reason": "\(LogText.escape(verdict.reason))"])
                }
                promise.succeed(verdict.isTrusted ? .certificateVerified : .failed)
            }
        }
    }
}
