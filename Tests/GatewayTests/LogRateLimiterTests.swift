import Foundation
@testable import Gateway
import Testing

/// The limit on "TLS handshake refused" lines: a scanner cannot flood the log.
struct LogRateLimiterTests {
    @Test func passesTenASecondAndReportsHowManyItSuppressed() {
        let limiter = LogRateLimiter(perSecond: 10)
        let second = Date(timeIntervalSince1970: 1_000_000)
        let passed = (0..<25).compactMap { _ in limiter.admit(now: second) }
        #expect(passed == Array(repeating: 0, count: 10))
        // The next second: the first line that passes tells how many were dropped before it.
        #expect(limiter.admit(now: second.addingTimeInterval(1)) == 15)
        #expect(limiter.admit(now: second.addingTimeInterval(1)) == 0)
    }

    @Test func plainReasonsForHandshakeErrors() {
        #expect(GatewayMetrics.plainHandshakeReason(TestFailure("handshakeFailed(sslError([Error: 1 error:1000009c:SSL routines:OPENSSL_internal:HTTP_REQUEST]))"))
                == "plain HTTP sent to the TLS port")
        #expect(GatewayMetrics.plainHandshakeReason(TestFailure("error:10000410:SSL routines:OPENSSL_internal:UNSUPPORTED_PROTOCOL"))
                == "TLS version not supported (TLS 1.2 or 1.3 needed)")
        #expect(GatewayMetrics.plainHandshakeReason(TestFailure("something else")) == "TLS handshake failed")
    }
}
