/// An APIM operation URL template such as `/users/{id}/orders/{orderId}` or `/files/*`, compiled once.
/// `{name}` matches one path segment; a final `*` (or `{*name}`) matches the rest of the path.
public struct URLTemplate: Sendable, Equatable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    let segments: [Segment]
    /// Name of the catch-all parameter (`*` is stored as `*`), if the template ends with one.
    let catchAll: String?
    public let text: String

    public init(_ text: String) throws {
        self.text = text
        let path = text.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        var parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var catchAll: String?
        if let last = parts.last {
            if last == "*" {
                catchAll = "*"
                parts.removeLast()
            } else if last.hasPrefix("{*"), last.hasSuffix("}"), last.count > 3 {
                catchAll = String(last.dropFirst(2).dropLast())
                parts.removeLast()
            }
        }
        var names = Set<String>()
        self.segments = try parts.map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") {
                let name = String(part.dropFirst().dropLast())
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                    throw URLTemplateError(template: text, reason: "bad parameter name '{\(name)}'")
                }
                guard names.insert(name).inserted else {
                    throw URLTemplateError(template: text, reason: "parameter '{\(name)}' appears twice")
                }
                return .parameter(name)
            }
            guard !part.contains("{"), !part.contains("}"), !part.contains("*") else {
                throw URLTemplateError(template: text, reason: "segment '\(part)' mixes text and a parameter; a parameter must be a whole segment")
            }
            return .literal(part)
        }
        self.catchAll = catchAll
    }

    /// Literal segments rank above parameters, which rank above a catch-all: the most specific
    /// template wins when several match.
    var specificity: Int {
        segments.reduce(0) { score, segment in
            if case .literal = segment { return score * 3 + 2 } else { return score * 3 + 1 }
        } * 2 + (catchAll == nil ? 1 : 0)
    }

    /// Matches a request path's segments: literals against the matching keys (case-insensitively, as
    /// APIM does), parameters take the percent-decoded segments. Returns the parameter values or nil.
    func match(keys: ArraySlice<String>, decoded: ArraySlice<String>) -> [String: String]? {
        if catchAll == nil {
            guard keys.count == segments.count else { return nil }
        } else {
            guard keys.count >= segments.count else { return nil }
        }
        var parameters: [String: String] = [:]
        for (segment, (key, value)) in zip(segments, zip(keys, decoded)) {
            switch segment {
            case .literal(let text):
                guard RequestPath.sameSegment(text, key) else { return nil }
            case .parameter(let name):
                parameters[name] = value
            }
        }
        if let catchAll, catchAll != "*" {
            parameters[catchAll] = decoded.dropFirst(segments.count).joined(separator: "/")
        }
        return parameters
    }
}

public struct URLTemplateError: Error, CustomStringConvertible, Sendable {
    public let template: String
    public let reason: String
    public var description: String { "URL template '\(template)': \(reason)" }
}

enum PercentDecoding {
    static func decode<S: StringProtocol>(_ text: S) -> String? {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        guard forEachByte(text, { byte, _ in bytes.append(byte) }) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Calls `body` with each byte of `text` decoded, and whether it came from a `%XX` escape; false
    /// (after a partial walk) when an escape is malformed.
    static func forEachByte<S: StringProtocol>(_ text: S, _ body: (UInt8, Bool) -> Void) -> Bool {
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return false
                }
                body(high << 4 | low, true)
            } else {
                body(byte, false)
            }
        }
        return true
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
