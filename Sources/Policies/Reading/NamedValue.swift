/// An APIM named value (`{{name}}` in policy text). Secret values are substituted like plain ones,
/// but never shown: diagnostics and printed documents replace them with their `{{name}}`.
public struct NamedValue: Sendable, Hashable {
    public let name: String
    public let value: String
    public let isSecret: Bool

    public init(name: String, value: String, isSecret: Bool = false) {
        self.name = name
        self.value = value
        self.isSecret = isSecret
    }

    public static func secret(_ name: String, _ value: String) -> NamedValue {
        NamedValue(name: name, value: value, isSecret: true)
    }

    /// APIM allows letters, digits, period, dash and underscore in named-value names.
    public static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }
}

/// The named values a load can use, looked up case-insensitively (APIM display names differ by case only rarely; matching them anyway avoids surprises).
public struct NamedValues: Sendable {
    private var byLowercasedName: [String: NamedValue] = [:]

    public init(_ values: [NamedValue] = []) {
        for value in values { byLowercasedName[value.name.lowercased()] = value }
    }

    public subscript(name: String) -> NamedValue? { byLowercasedName[name.lowercased()] }

    public var all: [NamedValue] { Array(byLowercasedName.values) }

    /// Only the secret values: what must be hidden wherever policy text is shown.
    public var secrets: NamedValues { NamedValues(byLowercasedName.values.filter(\.isSecret)) }

    /// These values and `other`'s (other's win on a name clash).
    public func merging(_ other: NamedValues) -> NamedValues { NamedValues(all + other.all) }

    /// Replaces every secret value in `text` with its placeholder, longest secrets first so a secret
    /// that contains another is hidden whole.
    public func redact(_ text: String) -> String {
        let secrets = byLowercasedName.values.filter { $0.isSecret && !$0.value.isEmpty }
            .sorted { $0.value.count > $1.value.count }
        var result = text
        for secret in secrets where result.contains(secret.value) {
            result = result.replacingOccurrences(of: secret.value, with: "{{\(secret.name)}}")
        }
        return result
    }
}
