import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// Keeps the chain a client presents in `negotiate` mode. The TLS layer accepts any chain here on
/// purpose: policies (`Verify()`, `validate-client-certificate`) do the real verification, with the
/// CA store's intermediates, at request time.
final class PresentedChainRecorder: Sendable {
    private let chain = NIOLockedValueBox<[[UInt8]]>([])

    var presentedChain: [[UInt8]] { chain.withLockedValue { $0 } }

    func acceptAndRecord(_ certificates: [NIOSSLCertificate], _ promise: EventLoopPromise<NIOSSLVerificationResult>) {
        let der = certificates.compactMap { try? $0.toDERBytes() }
        chain.withLockedValue { $0 = der }
        promise.succeed(.certificateVerified)
    }
}
