import Foundation
import Yams

/// A thin, position-aware reader over a Yams node tree: every error names file, line and column, and
/// unknown keys are errors (a typo in a security setting must not be silently ignored).
struct YAMLReader {
    let file: String

    func error(_ node: Node?, _ message: String) -> ConfigurationError {
        // Yams marks are 1-based lines and 1-based columns.
        ConfigurationError(file: file, line: node?.mark?.line, column: node?.mark?.column, message: message)
    }

    func mapping(_ node: Node, _ what: String, allowedKeys: Set<String>) throws -> [String: Node] {
        guard let mapping = node.mapping else {
            throw error(node, "\(what) must be a mapping")
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw error(keyNode, "\(what): keys must be plain strings")
            }
            guard allowedKeys.contains(key) else {
                let known = allowedKeys.sorted().joined(separator: ", ")
                throw error(keyNode, "\(what): unknown key '\(key)' (known keys: \(known))")
            }
            guard result[key] == nil else {
                throw error(keyNode, "\(what): duplicate key '\(key)'")
            }
            result[key] = value
        }
        return result
    }

    /// A mapping whose keys are user names (fragment ids, named values), in document order.
    func mappingOfAnyKeys(_ node: Node, _ what: String) throws -> [(String, Node)] {
        guard let mapping = node.mapping else { throw error(node, "\(what) must be a mapping") }
        var seen = Set<String>()
        return try mapping.map { keyNode, value in
            guard let key = keyNode.scalar?.string, !key.isEmpty else { throw error(keyNode, "\(what): keys must be non-empty strings") }
            guard seen.insert(key).inserted else { throw error(keyNode, "\(what): duplicate key '\(key)'") }
            return (key, value)
        }
    }

    func sequence(_ node: Node, _ what: String) throws -> [Node] {
        guard let sequence = node.sequence else {
            throw error(node, "\(what) must be a list")
        }
        return Array(sequence)
    }

    func string(_ node: Node, _ what: String) throws -> String {
        guard let scalar = node.scalar else {
            throw error(node, "\(what) must be a string")
        }
        return scalar.string
    }

    func nonEmptyString(_ node: Node, _ what: String) throws -> String {
        let value = try string(node, what)
        guard !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw error(node, "\(what) must not be empty")
        }
        return value
    }

    func stringList(_ node: Node, _ what: String) throws -> [String] {
        if node.scalar != nil { return [try nonEmptyString(node, what)] }
        return try sequence(node, what).map { try nonEmptyString($0, what) }
    }

    func bool(_ node: Node, _ what: String) throws -> Bool {
        switch try string(node, what).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(node, "\(what) must be true or false")
        }
    }

    func integer(_ node: Node, _ what: String, range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(try string(node, what)) else {
            throw error(node, "\(what) must be an integer")
        }
        guard range.contains(value) else {
            throw error(node, "\(what) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    /// Seconds, written as a number (`10`, `0.5`) or with a unit (`500ms`, `10s`, `2m`, `1h`).
    func duration(_ node: Node, _ what: String) throws -> Double {
        let text = try string(node, what).trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var seconds: Double?
        if let plain = Double(text) {
            seconds = plain
        } else {
            for (suffix, factor) in units where text.hasSuffix(suffix) {
                if let number = Double(text.dropLast(suffix.count)) {
                    seconds = number * factor
                    break
                }
            }
        }
        guard let value = seconds, value.isFinite, value > 0, value <= 86_400 else {
            throw error(node, "\(what) must be a positive duration such as 10s, 500ms or 2m (at most 24h)")
        }
        return value
    }
}
