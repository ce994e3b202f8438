import Crypto
import Foundation

/// Entity tags and token digests: SHA-256, hex.
public enum DocumentDigest {
    public static func etag(_ document: Data) -> String {
        String(hex(SHA256.hash(data: document)).prefix(32))
    }

    public static func sha256Hex(_ text: String) -> String {
        hex(SHA256.hash(data: Data(text.utf8)))
    }

    /// Equal strings, in time independent of where they differ (token digests).
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
