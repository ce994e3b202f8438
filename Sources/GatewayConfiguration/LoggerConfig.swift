import Foundation

/// A named logger (APIM's Logger entity) that `log-to-eventhub logger-id="…"` writes to:
/// an Azure Event Hub, a JSON-lines file, or standard output. Each has a bounded queue drained by a
/// background sender, so a policy never waits for it.
public struct LoggerConfig: Sendable, Equatable {
    public enum Sink: Sendable, Equatable {
        /// An event hub, over HTTPS (the Event Hubs REST API, SAS authorisation).
        case eventHub(EventHubTarget)
        /// One JSON object a line appended to a file (created 0600 when missing).
        case file(path: String)
        /// One JSON object a line on standard output.
        case stdout
    }

    /// What a full queue gives up: the oldest queued event (default) or the new one.
    public enum Overflow: String, Sendable, Equatable, CaseIterable {
        case dropOldest = "drop-oldest"
        case dropNewest = "drop-newest"
    }

    public var id: String
    public var sink: Sink
    /// Events held while the sender is behind (at most; then `overflow` decides).
    public var queueSize: Int = 10_000
    public var overflow: Overflow = .dropOldest
    /// Events per request to an event hub (one batch), or per write to a file.
    public var batchSize: Int = 100

    public init(id: String, sink: Sink) {
        self.id = id
        self.sink = sink
    }
}

/// Where an Event Hubs logger sends, with its shared access key. `description` never shows the key.
public struct EventHubTarget: Sendable, Equatable, CustomStringConvertible {
    /// The namespace host (`NS.servicebus.windows.net`), with a port only when one was given
    /// (an emulator or a test server).
    public var host: String
    /// The event hub (APIM's `name`, or the connection string's `EntityPath`).
    public var hub: String
    public var keyName: String
    /// The shared access key (secret): its UTF-8 bytes are the HMAC-SHA256 key of the SAS token.
    public var key: String

    public init(host: String, hub: String, keyName: String, key: String) {
        self.host = host
        self.hub = hub
        self.keyName = keyName
        self.key = key
    }

    public var description: String { "event hub '\(hub)' at \(host) (key '\(keyName)')" }

    /// The connection string's fields, or why it is not one (naming fields, never a value).
    public struct ConnectionString: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var keyName: String
        public var key: String
        public var entityPath: String?
        /// Never the key.
        public var description: String { "Endpoint=sb://\(host)/;SharedAccessKeyName=\(keyName);SharedAccessKey=(hidden)" + (entityPath.map { ";EntityPath=\($0)" } ?? "") }
    }

    /// Parses `Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=…;SharedAccessKey=…[;EntityPath=hub]`
    /// (keys in any letter case, in any order; a value may contain `=`, as base64 keys do).
    public static func parseConnectionString(_ text: String) -> Result<ConnectionString, ConnectionStringError> {
        var fields: [String: String] = [:]
        for part in text.split(separator: ";", omittingEmptySubsequences: true) {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else { return .failure(.malformed) }
            let name = trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = String(trimmed[trimmed.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            switch name {
            case "endpoint", "sharedaccesskeyname", "sharedaccesskey", "entitypath":
                guard fields[name] == nil else { return .failure(.repeated(name)) }
                fields[name] = value
            case "sharedaccesssignature":
                return .failure(.unsupported("SharedAccessSignature (a ready-made token expires; give the key instead)"))
            default:
                // Only the field's name: a value may be secret.
                return .failure(.unknownField(String(trimmed[..<equals].prefix(64))))
            }
        }
        guard let endpoint = fields["endpoint"] else { return .failure(.missing("Endpoint")) }
        guard let keyName = fields["sharedaccesskeyname"], !keyName.isEmpty else { return .failure(.missing("SharedAccessKeyName")) }
        guard let key = fields["sharedaccesskey"], !key.isEmpty else { return .failure(.missing("SharedAccessKey")) }
        guard let host = namespaceHost(endpoint) else { return .failure(.badEndpoint) }
        let entity = fields["entitypath"].flatMap { $0.isEmpty ? nil : $0 }
        return .success(ConnectionString(host: host, keyName: keyName, key: key, entityPath: entity))
    }

    /// `sb://host[:port][/]` (or a bare `host`) → `host[:port]`, lowercased; nil when it is not a host name.
    public static func namespaceHost(_ endpoint: String) -> String? {
        var text = Substring(endpoint.trimmingCharacters(in: .whitespaces))
        for scheme in ["sb://", "https://", "amqps://"] where text.lowercased().hasPrefix(scheme) {
            text = text.dropFirst(scheme.count)
            break
        }
        while text.hasSuffix("/") { text = text.dropLast() }
        let host = text.lowercased()
        guard !host.isEmpty, host.utf8.count <= 255 else { return nil }
        let parts = host.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.first, !name.isEmpty else { return nil }
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1...65535).contains(port) else { return nil }
        }
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
        return allowed ? host : nil
    }

    /// An event hub name as Event Hubs allows it: 1–256 letters, digits, `.`, `-`, `_` (it goes into URL paths).
    public static func isValidHubName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 256 && name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_")
        }
    }

    public enum ConnectionStringError: Error, Equatable, CustomStringConvertible {
        case malformed
        case repeated(String)
        case unknownField(String)
        case unsupported(String)
        case missing(String)
        case badEndpoint

        public var description: String {
            switch self {
            case .malformed: "it is not a list of Name=value fields separated by ';'"
            case .repeated(let name): "the field '\(name)' is given twice"
            case .unknownField(let name): "unknown field '\(name)' (expected Endpoint, SharedAccessKeyName, SharedAccessKey, EntityPath)"
            case .unsupported(let what): "\(what) is not supported"
            case .missing(let name): "it has no \(name)"
            case .badEndpoint: "its Endpoint is not sb://<namespace host>/"
            }
        }
    }
}
