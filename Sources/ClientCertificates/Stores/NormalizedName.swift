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
        guard let converted = try? X500DistinguishedName(name) else { return nil }
        self.init(converted)
    }

    static func normalize(_ value: String) -> String {
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
}
