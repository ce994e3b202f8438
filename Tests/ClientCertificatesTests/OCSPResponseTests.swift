@testable import ClientCertificates
import Foundation
import Testing

/// What the gateway reads itself from an OCSP response (only nextUpdate, for caching; the response
/// is judged by swift-certificates): hostile bytes give nil, never a trap.
struct OCSPResponseTests {
    @Test(arguments: [[UInt8](), [0x30], [0x30, 0x03, 0x0A, 0x01, 0x00], [0x30, 0x80, 0x00, 0x00], Array(repeating: 0x30, count: 64),
                      [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x0A]])
    func hostileResponsesHaveNoNextUpdate(_ bytes: [UInt8]) {
        #expect(OCSPNextUpdate.earliest(in: bytes) == nil)
    }
}
