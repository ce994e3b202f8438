import Crypto
import Foundation

/// Event Hubs (Service Bus) shared access signatures, as Microsoft's "Generate SAS token" describes:
///
///     SharedAccessSignature sr=<encoded resource URI>&sig=<encoded base64 HMAC-SHA256>&se=<expiry>&skn=<key name>
///
/// where the signed string is `<encoded resource URI>\n<expiry>` (expiry in Unix seconds) and the
/// HMAC key is the shared access key's UTF-8 bytes (the key text itself, not base64-decoded).
enum SharedAccessSignature {
    /// JavaScript's `encodeURIComponent`: everything but `A–Z a–z 0–9 - _ . ! ~ * ' ( )` as %XX (UTF-8).
    static func encode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "~"), UInt8(ascii: "*"),
                 UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(UnicodeScalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(UnicodeScalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }

    /// The base64 HMAC-SHA256 of `"<encodedResource>\n<expiry>"` under `key`.
    static func signature(encodedResource: String, expiry: Int64, key: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(encodedResource)\n\(expiry)".utf8), using: SymmetricKey(data: Array(key.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// The `Authorization` value for `resourceURI` (e.g. `https://ns.servicebus.windows.net/hub`) until `expiry`.
    static func token(resourceURI: String, keyName: String, key: String, expiry: Int64) -> String {
        let encoded = encode(resourceURI)
        let sig = signature(encodedResource: encoded, expiry: expiry, key: key)
        return "SharedAccessSignature sr=\(encoded)&sig=\(encode(sig))&se=\(expiry)&skn=\(encode(keyName))"
    }
}
