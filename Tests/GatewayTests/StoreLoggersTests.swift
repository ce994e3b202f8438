import Foundation
import Gateway
import Testing

/// Loggers as store resources (`/admin/loggers/{id}`): the event hub's key is never returned (nor in
/// the audit trail), a PUT without it keeps it, `log-to-eventhub` uses the stored loggers, and a
/// logger in use cannot be deleted.
@Suite(.serialized, .enabled(if: Curl.isAvailable))
struct StoreLoggersTests {
    static let key = "c3RvcmUta2V5LW5ldmVyLXNob3duLTAxMjM0NTY3ODk="

    @Test func loggersAreResourcesWhoseKeyIsNeverShown() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        _ = try await gateway.configureSeedSetup()
        let connection = "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=\(Self.key);EntityPath=apim-logs"
        let created = try await gateway.admin("PUT", "/loggers/contoso", json: ["eventHub": ["connectionString": connection], "description": "APIM logs"])
        #expect(created.status == 201, "\(created)")
        let read = try await gateway.admin("GET", "/loggers/contoso")
        #expect(read.status == 200)
        #expect(!read.body.contains(Self.key), "\(read.body)")
        #expect((read.json["eventHub"] as? [String: Any])?["connectionStringStored"] as? Bool == true, "\(read.body)")
        #expect(read.json["description"] as? String == "APIM logs")
        let listed = try await gateway.admin("GET", "/loggers")
        #expect(listed.jsonArray.count == 1 && !listed.body.contains(Self.key))
        // A PUT without the connection string keeps the stored one (the configuration still checks).
        let etag = read.headers["etag"] ?? ""
        let replaced = try await gateway.admin("PUT", "/loggers/contoso", json: ["eventHub": [String: String](), "queueSize": 50],
                                               headers: ["If-Match: \(etag)"])
        #expect(replaced.status == 200, "\(replaced)")
        #expect(!(try await gateway.admin("GET", "/loggers/contoso")).body.contains(Self.key))
        // A connection string without EntityPath needs a name: refused with the reason, never the key.
        let refused = try await gateway.admin("PUT", "/loggers/contoso", json: ["eventHub": [
            "connectionString": "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=\(Self.key)"]])
        #expect(refused.status == 422, "\(refused)")
        #expect(refused.errorDetails.contains { $0.contains("needs 'name' (the event hub)") }, "\(refused)")
        #expect(!refused.body.contains(Self.key))
        let audit = try await gateway.admin("GET", "/audit?limit=10")
        #expect(audit.body.contains("logger contoso set") && !audit.body.contains(Self.key), "\(audit.body)")

        // A file logger, used by the API's policy.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("store-logger-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try await gateway.admin("PUT", "/loggers/audit", json: ["file": file]).status == 201)
        func policy(_ logger: String) -> String {
            """
            <policies><inbound><log-to-eventhub logger-id="\(logger)">@("path " + context.Request.Url.Path)</log-to-eventhub></inbound>
            <backend><forward-request /></backend><outbound /><on-error /></policies>
            """
        }
        let unknown = try await gateway.admin("PUT", "/apis/echo/policy", raw: policy("nope"))
        #expect(unknown.status == 422 && unknown.errorDetails.contains { $0.contains("logger 'nope' of '<log-to-eventhub>' does not exist; configured: audit, contoso") },
                "\(unknown)")
        #expect(try await gateway.admin("PUT", "/apis/echo/policy", raw: policy("audit")).status == 200)
        #expect(try await gateway.get("/echo/hello", certificate: true).httpCode == 200)
        for _ in 0..<100 where ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains(#""logger":"audit""#))
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains(#""message":"path /hello""#))
        // In use: deleting it is refused; the unused one can go.
        #expect(try await gateway.admin("DELETE", "/loggers/audit").status == 422)
        #expect(try await gateway.admin("DELETE", "/loggers/contoso").status == 204)
    }
}
