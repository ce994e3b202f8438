import Foundation
import Yams

/// `policies.loggers:` of the YAML configuration (APIM's Logger entities for `log-to-eventhub`).
///
///     loggers:
///       contoso-logger:
///         eventHub: { connectionString: "{{eh-connection}}", name: hub }   # or namespace + name + keyName + key
///         queueSize: 10000           # optional; overflow: drop-oldest | drop-newest; batchSize: 100
///       audit: { file: logs/events.jsonl }
///       console: { stdout: true }
///
/// Secrets (the connection string, the key) are never part of an error message.
extension GatewayConfigLoader {
    static func parseLoggers(_ node: Node, reader: YAMLReader, resolve: (String) -> String,
                             namedValues: [String: String]) throws -> [String: LoggerConfig] {
        var loggers: [String: LoggerConfig] = [:]
        for (id, entry) in try reader.mappingOfAnyKeys(node, "policies.loggers") {
            let what = "logger '\(id)'"
            guard !id.isEmpty, id.utf8.count <= 256 else { throw reader.error(entry, "a logger id must be 1 to 256 bytes") }
            let map = try reader.mapping(entry, what, allowedKeys: ["eventHub", "file", "stdout", "queueSize", "overflow", "batchSize"])
            let given = ["eventHub", "file", "stdout"].filter { map[$0] != nil }
            guard given.count == 1 else {
                throw reader.error(entry, "\(what) needs exactly one of 'eventHub', 'file' or 'stdout'"
                                   + (given.isEmpty ? "" : " (found \(given.joined(separator: ", ")))"))
            }
            let sink: LoggerConfig.Sink
            if let hub = map["eventHub"] {
                sink = .eventHub(try parseEventHub(hub, what: what, reader: reader, namedValues: namedValues))
            } else if let file = map["file"] {
                sink = .file(path: resolve(try reader.nonEmptyString(file, "\(what): file")))
            } else if let stdout = map["stdout"] {
                guard try reader.bool(stdout, "\(what): stdout") else {
                    throw reader.error(stdout, "\(what): stdout must be true (remove the logger to turn it off)")
                }
                sink = .stdout
            } else {
                throw reader.error(entry, "\(what) needs exactly one of 'eventHub', 'file' or 'stdout'")
            }
            var logger = LoggerConfig(id: id, sink: sink)
            if let n = map["queueSize"] { logger.queueSize = try reader.integer(n, "\(what): queueSize", range: 1...1_000_000) }
            if let n = map["batchSize"] { logger.batchSize = try reader.integer(n, "\(what): batchSize", range: 1...1_000) }
            if let n = map["overflow"] {
                let text = try reader.string(n, "\(what): overflow")
                guard let overflow = LoggerConfig.Overflow(rawValue: text) else {
                    throw reader.error(n, "\(what): overflow must be drop-oldest or drop-newest, got '\(text.prefix(40))'")
                }
                logger.overflow = overflow
            }
            loggers[id] = logger
        }
        return loggers
    }

    private static func parseEventHub(_ node: Node, what: String, reader: YAMLReader,
                                      namedValues: [String: String]) throws -> EventHubTarget {
        let map = try reader.mapping(node, "\(what): eventHub", allowedKeys: ["connectionString", "namespace", "name", "keyName", "key"])
        /// A secret field: literal, or a `{{named value}}` (as APIM's loggers take them).
        func secret(_ field: String) throws -> (value: String, node: Node)? {
            guard let valueNode = map[field] else { return nil }
            let text = try reader.nonEmptyString(valueNode, "\(what): eventHub.\(field)")
            guard text.hasPrefix("{{"), text.hasSuffix("}}"), text.count > 4 else { return (text, valueNode) }
            let name = String(text.dropFirst(2).dropLast(2)).trimmingCharacters(in: .whitespaces)
            guard let value = namedValues[name] else {
                throw reader.error(valueNode, "\(what): eventHub.\(field): named value '\(name)' is not defined under policies.namedValues")
            }
            return (value, valueNode)
        }
        let hubName = try map["name"].map { try reader.nonEmptyString($0, "\(what): eventHub.name") }
        var target: EventHubTarget
        if let found = try secret("connectionString") {
            let (connection, connectionNode) = found
            for field in ["namespace", "keyName", "key"] where map[field] != nil {
                throw reader.error(map[field], "\(what): eventHub takes either 'connectionString' or 'namespace', 'keyName' and 'key', not both")
            }
            switch EventHubTarget.parseConnectionString(connection) {
            case .failure(let problem):
                throw reader.error(connectionNode, "\(what): eventHub.connectionString is not an Event Hubs connection string: \(problem)")
            case .success(let parsed):
                if let entity = parsed.entityPath, let hubName, entity != hubName {
                    throw reader.error(map["name"], "\(what): eventHub.name '\(hubName)' differs from the connection string's EntityPath '\(entity)'")
                }
                guard let hub = hubName ?? parsed.entityPath else {
                    throw reader.error(node, "\(what): eventHub needs 'name' (the event hub) when the connection string has no EntityPath")
                }
                target = EventHubTarget(host: parsed.host, hub: hub, keyName: parsed.keyName, key: parsed.key)
            }
        } else {
            guard let namespaceNode = map["namespace"], let keyNameNode = map["keyName"], let key = try secret("key")?.value else {
                throw reader.error(node, "\(what): eventHub needs 'connectionString', or 'namespace', 'name', 'keyName' and 'key'")
            }
            let namespaceText = try reader.nonEmptyString(namespaceNode, "\(what): eventHub.namespace")
            guard let host = EventHubTarget.namespaceHost(namespaceText) else {
                throw reader.error(namespaceNode, "\(what): eventHub.namespace must be a host name (NS.servicebus.windows.net), got '\(namespaceText.prefix(80))'")
            }
            guard let hubName else { throw reader.error(node, "\(what): eventHub needs 'name' (the event hub)") }
            // A namespace given without a dot is the short name, as the portal shows it.
            let fullHost = host.contains(".") || host.hasPrefix("localhost") ? host : host + ".servicebus.windows.net"
            target = EventHubTarget(host: fullHost, hub: hubName,
                                    keyName: try reader.nonEmptyString(keyNameNode, "\(what): eventHub.keyName"), key: key)
        }
        guard EventHubTarget.isValidHubName(target.hub) else {
            throw reader.error(map["name"] ?? node, "\(what): the event hub name must be 1 to 256 letters, digits, '.', '-' or '_'")
        }
        guard target.keyName.utf8.count <= 256, !target.keyName.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F }) else {
            throw reader.error(map["keyName"] ?? map["connectionString"] ?? node, "\(what): the shared access key name must be printable without spaces")
        }
        return target
    }
}
