import GatewayConfiguration
import Testing

/// `policies.loggers` (log-to-eventhub's Logger entities): Event Hubs by connection string or by
/// parts (with `{{named value}}` secrets), files, stdout; errors at file:line:col that never show a key.
@Suite struct LoggersConfigTests {
    static let base = "hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\n"
    static let key = "c2VjcmV0LWtleS0wMTIzNDU2Nzg5QUJDREVGR0g/Kw=="

    static func parse(_ policies: String) throws -> [String: LoggerConfig] {
        try GatewayConfigLoader.parse(yaml: base + "policies:\n" + policies, file: "gw.yaml", baseDirectory: "/etc/d").policies.loggers
    }

    static func error(_ policies: String) -> String {
        do {
            _ = try parse(policies)
            return "(no error)"
        } catch {
            return "\(error)"
        }
    }

    @Test func eventHubFromAConnectionStringANamedValueAndParts() throws {
        let loggers = try Self.parse("""
              namedValues:
                eh-connection: { value: "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=\(Self.key);EntityPath=apim-logs", secret: true }
                eh-key: { value: "\(Self.key)", secret: true }
              loggers:
                contoso-logger:
                  eventHub: { connectionString: "{{eh-connection}}" }
                by-name:
                  eventHub:
                    connectionString: "endpoint=sb://Other.servicebus.windows.net/;sharedaccesskeyname=RootManageSharedAccessKey;sharedaccesskey=\(Self.key)"
                    name: hub-2
                  queueSize: 500
                  overflow: drop-newest
                  batchSize: 10
                parts:
                  eventHub: { namespace: third, name: h3, keyName: send, key: "{{eh-key}}" }
                audit: { file: logs/events.jsonl }
                console: { stdout: true }
            """)
        #expect(loggers["contoso-logger"] == LoggerConfig(id: "contoso-logger", sink: .eventHub(
            EventHubTarget(host: "contoso.servicebus.windows.net", hub: "apim-logs", keyName: "send", key: Self.key))))
        var byName = LoggerConfig(id: "by-name", sink: .eventHub(
            EventHubTarget(host: "other.servicebus.windows.net", hub: "hub-2", keyName: "RootManageSharedAccessKey", key: Self.key)))
        byName.queueSize = 500
        byName.overflow = .dropNewest
        byName.batchSize = 10
        #expect(loggers["by-name"] == byName)
        #expect(loggers["parts"]?.sink == .eventHub(EventHubTarget(host: "third.servicebus.windows.net", hub: "h3", keyName: "send", key: Self.key)))
        #expect(loggers["audit"]?.sink == .file(path: "/etc/d/logs/events.jsonl"))
        #expect(loggers["console"]?.sink == .stdout)
        #expect(loggers["console"]?.queueSize == 10_000)
        #expect(loggers["console"]?.overflow == .dropOldest)
        // The target's description names the hub and key name, never the key.
        let shown = String(describing: loggers["by-name"]?.sink)
        #expect(!shown.contains(Self.key))
        if case .eventHub(let target)? = loggers["by-name"]?.sink {
            #expect(target.description == "event hub 'hub-2' at other.servicebus.windows.net (key 'RootManageSharedAccessKey')")
        }
    }

    @Test func anEndpointWithAPortIsKept() throws {
        let loggers = try Self.parse("""
              loggers:
                local:
                  eventHub: { connectionString: "Endpoint=sb://localhost:8443/;SharedAccessKeyName=k;SharedAccessKey=abc;EntityPath=hub" }
            """)
        #expect(loggers["local"]?.sink == .eventHub(EventHubTarget(host: "localhost:8443", hub: "hub", keyName: "k", key: "abc")))
    }

    @Test func errorsNameThePlaceAndNeverTheKey() {
        let cases: [(String, String)] = [
            ("  loggers:\n    a: { }\n", "gw.yaml:5:8: logger 'a' needs exactly one of 'eventHub', 'file' or 'stdout'"),
            ("  loggers:\n    a: { file: x, stdout: true }\n", "needs exactly one of 'eventHub', 'file' or 'stdout' (found file, stdout)"),
            ("  loggers:\n    a: { stdout: true, colour: red }\n", "unknown key 'colour'"),
            ("  loggers:\n    a: { stdout: false }\n", "stdout must be true"),
            ("  loggers:\n    a: { stdout: true, overflow: block }\n", "overflow must be drop-oldest or drop-newest"),
            ("  loggers:\n    a: { stdout: true, queueSize: 0 }\n", "queueSize"),
            ("  loggers:\n    a:\n      eventHub: { connectionString: \"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=\(Self.key)\" }\n",
             "needs 'name' (the event hub) when the connection string has no EntityPath"),
            ("  loggers:\n    a:\n      eventHub: { connectionString: \"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k\", name: h }\n",
             "not an Event Hubs connection string: it has no SharedAccessKey"),
            ("  loggers:\n    a:\n      eventHub: { connectionString: \"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=\(Self.key);Secret=\(Self.key)\", name: h }\n",
             "unknown field 'Secret'"),
            ("  loggers:\n    a:\n      eventHub: { connectionString: \"Endpoint=http://bad host/;SharedAccessKeyName=k;SharedAccessKey=\(Self.key)\", name: h }\n",
             "its Endpoint is not sb://<namespace host>/"),
            ("  loggers:\n    a:\n      eventHub: { connectionString: \"\(Self.key)\", name: h }\n", "gw.yaml:6:37: logger 'a': eventHub.connectionString is not an Event Hubs connection string"),
            ("  loggers:\n    a:\n      eventHub: { connectionString: \"{{missing}}\", name: h }\n", "named value 'missing' is not defined under policies.namedValues"),
            ("  loggers:\n    a:\n      eventHub: { connectionString: \"Endpoint=sb://ns/;SharedAccessKeyName=k;SharedAccessKey=\(Self.key);EntityPath=one\", name: two }\n",
             "differs from the connection string's EntityPath 'one'"),
            ("  loggers:\n    a:\n      eventHub: { namespace: ns, name: \"bad/hub\", keyName: k, key: \(Self.key) }\n", "the event hub name must be"),
            ("  loggers:\n    a:\n      eventHub: { namespace: ns, name: h, key: \(Self.key) }\n", "needs 'connectionString', or 'namespace', 'name', 'keyName' and 'key'"),
            ("  loggers:\n    a:\n      eventHub: { connectionString: \"Endpoint=sb://ns/;SharedAccessKeyName=k;SharedAccessKey=\(Self.key)\", namespace: ns, name: h }\n",
             "either 'connectionString' or 'namespace', 'keyName' and 'key'"),
        ]
        for (yaml, expected) in cases {
            let message = Self.error(yaml)
            #expect(message.contains(expected), "\(yaml) → \(message)")
            #expect(!message.contains(Self.key), "the key leaked: \(message)")
        }
    }

    @Test func connectionStringParsing() {
        let parsed = EventHubTarget.parseConnectionString(" Endpoint = sb://NS.servicebus.windows.net ; SharedAccessKeyName=a ; SharedAccessKey=b== ;")
        let fields = try? parsed.get()
        #expect(fields?.host == "ns.servicebus.windows.net")
        #expect(fields?.keyName == "a")
        #expect(fields?.key == "b==")
        #expect(fields?.entityPath == nil)
        #expect(EventHubTarget.parseConnectionString("Endpoint=sb://x/;Endpoint=sb://y/") == .failure(.repeated("endpoint")))
        #expect(EventHubTarget.parseConnectionString("SharedAccessKeyName=a;SharedAccessKey=b") == .failure(.missing("Endpoint")))
        #expect(EventHubTarget.parseConnectionString("Endpoint=sb://x/;SharedAccessSignature=SharedAccessSignature sr=…")
            == .failure(.unsupported("SharedAccessSignature (a ready-made token expires; give the key instead)")))
        #expect(EventHubTarget.parseConnectionString("garbage") == .failure(.malformed))
        #expect(EventHubTarget.namespaceHost("sb://a.b:99999/") == nil)
        #expect(EventHubTarget.namespaceHost("sb://a_b/") == nil)
        #expect(EventHubTarget.namespaceHost("sb://ns.servicebus.windows.net/") == "ns.servicebus.windows.net")
    }
}
