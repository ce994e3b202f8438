import Foundation
import HTTPTypes

/// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded, in either
/// direction; nor is any header the `Connection` header names.
enum HopByHop {
    static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "expect", "http2-settings",
    ]

    /// Copies `fields` without hop-by-hop headers and without the headers named in `Connection`.
    static func strip(_ fields: HTTPFields) -> HTTPFields {
        var listed = Set<String>()
        for value in fields[values: .connection] {
            for token in value.split(separator: ",") {
                listed.insert(token.trimmingCharacters(in: .whitespaces).lowercased())
            }
        }
        var result = HTTPFields()
        result.reserveCapacity(fields.count)
        for field in fields {
            let name = field.name.canonicalName
            if names.contains(name) || listed.contains(name) { continue }
            result.append(field)
        }
        return result
    }
}
