import SwiftASN1
import X509

/// A comparison key for distinguished names following RFC 5280 §7.1 name matching in its practical
/// form: attribute values compared case-insensitively after trimming and collapsing inner spaces,
/// whatever their string type (PrintableString vs UTF8String), RDN members compared as sets.
/// Non-string values compare by their exact DER.
struct NormalizedName: Hashable, Sendable {
    let key: String

    init(_ name: X500DistinguishedName) {
        key = name.relativeDistinguishedNames.map { rdn in
            rdn.map { attribute in
                attribute.oid + "=" + (attribute.value.map(Self.normalize) ?? "#" + Hex.upper(attribute.encodedValue))
            }.sorted().joined(separator: "\u{1}")
        }.joined(separator: "\u{2}")
    }

    init?(_ name: DistinguishedName) {
        guard let bytes = try? DER.Serializer.serialized(element: name), let node = try? DER.parse(bytes),
            let converted = try? X500DistinguishedName(node: node, formatName: false)
        else { return nil }
        self.init(converted)
    }

    static func normalize(_ value: String) -> String {
        if value.utf8.allSatisfy({ $0 < 0x80 }) { return normalizeASCII(value) }
        var out = ""
        var pendingSpace = false
        for character in value {
            if character.isWhitespace {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(character)
            }
        }
        return out.lowercased()
    }

    /// The same rules on bytes, without Unicode property lookups (the common case).
    private static func normalizeASCII(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20) }
                pendingSpace = false
                out.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
