import Foundation
import Gateway
import GatewayAdmin
import Testing

/// The admin API end to end: curl against a gateway served from an empty SQLite store, configured
/// through the API only, its data plane checked with curl and client certificates.
@Suite(.serialized, .enabled(if: Curl.isAvailable))
struct AdminAPITests {
    /// The issue's done-when path: CA, hostname in negotiate mode with its server certificate, an
    /// API with the seed's policy — then 200 with the client certificate, 403 without; a policy
    /// with a C# error refused with its line:col while the running configuration stays; and the
    /// time from commit to enforcement.
    @Test func emptyStoreToSeedPolicyThroughTheAdminAPIOnly() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        // Empty store: no hostname, every handshake refused.
        let empty = try await gateway.get("/echo/users/1", certificate: true)
        #expect(empty.status != 0, "an empty store serves nothing: \(empty.stdout)")

        let seed = try await gateway.configureSeedSetup()
        let with = try await gateway.get("/echo/users/42", certificate: true)
        #expect(with.httpCode == 200, "\(with.stdout) \(with.stderr)")
        #expect(with.stdout.contains("\"path\":\"/users/42\""))
        let without = try await gateway.get("/echo/users/42", certificate: false)
        #expect(without.httpCode == 403, "\(without.stdout)")
        #expect(without.stdout.hasPrefix("HTTP/1.1 403 Invalid client certificate") || without.stdout.hasPrefix("HTTP/2 403"), "\(without.stdout)")

        // A C# error in the policy expression: refused, with where it is; nothing changes.
        let broken = seed.replacingOccurrences(of: "context.Request.Certificate.Verify()", with: "context.Request.Certificate.Verify(")
        let refused = try await gateway.admin("PUT", "/apis/echo/policy", raw: broken)
        print("refused policy: \(refused.body)")
        #expect(refused.status == 422, "\(refused)")
        #expect(refused.errorDetails.contains { $0.range(of: #"policies/api:echo:\d+:\d+"#, options: .regularExpression) != nil }, "\(refused)")
        let kept = try await gateway.admin("GET", "/apis/echo/policy")
        #expect((kept.json["xml"] as? String) == seed)
        #expect(try await gateway.get("/echo/users/42", certificate: true).httpCode == 200)
        #expect(try await gateway.get("/echo/users/42", certificate: false).httpCode == 403)

        // Commit to enforcement: the answer to the PUT comes after the new snapshot is in force,
        // so the next request sees it.
        let teapot = """
        <policies><inbound><return-response><set-status code="418" reason="Changed" /></return-response></inbound>
        <backend><forward-request /></backend><outbound /><on-error /></policies>
        """
        let clock = ContinuousClock()
        let start = clock.now
        let changed = try await gateway.admin("PUT", "/apis/echo/policy", raw: teapot)
        let acknowledged = clock.now
        let after = try await gateway.get("/echo/users/42", certificate: true)
        let enforced = clock.now
        #expect(changed.status == 200, "\(changed)")
        #expect(after.httpCode == 418, "\(after.stdout)")
        let timing = changed.headers["server-timing"] ?? ""
        print("admin PUT policy: \(start.duration(to: acknowledged)) until acknowledged (curl included), first request after it \(acknowledged.duration(to: enforced)) (curl included); server: \(timing)")
        #expect(timing.contains("reload;dur="))
        let reloadMilliseconds = timing.components(separatedBy: "reload;dur=").last.flatMap { Double($0.prefix { $0 == "." || $0.isNumber }) } ?? .infinity
        #expect(reloadMilliseconds < 100, "commit to enforcement: \(timing)")

        // Audit: one record per change, by the token's name.
        let audit = try await gateway.admin("GET", "/audit?limit=3")
        #expect(audit.status == 200)
        #expect(audit.jsonArray.first?["actor"] as? String == "test-operator")
        #expect(audit.jsonArray.first?["id"] as? String == "api:echo")
        #expect(audit.jsonArray.first?["action"] as? String == "update")
    }

    @Test func noTokenOrAWrongTokenIs401AndTheDocumentIsServed() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        for auth in [TestAdminGateway.Auth.none, .bearer("dbt_wrong"), .bearer("")] {
            let read = try await gateway.admin("GET", "/hostnames", auth: auth)
            #expect(read.status == 401, "\(read)")
            #expect(read.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
            let write = try await gateway.admin("PUT", "/named-values/x", json: ["value": "1"], auth: auth)
            #expect(write.status == 401, "\(write)")
            let delete = try await gateway.admin("DELETE", "/named-values/x", auth: auth)
            #expect(delete.status == 401)
        }
        #expect(try await gateway.admin("GET", "/status").json["revision"] as? Int == 0, "nothing was written")
        let document = try await gateway.admin("GET", "/openapi.json", auth: .none)
        #expect(document.status == 200)
        #expect(document.json["openapi"] as? String == "3.0.3")
    }

    @Test func etagsGiveOptimisticConcurrency() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        let created = try await gateway.admin("PUT", "/named-values/greeting", json: ["value": "hello"], headers: ["If-None-Match: *"])
        #expect(created.status == 201, "\(created)")
        let etag = try #require(created.headers["etag"])
        let again = try await gateway.admin("PUT", "/named-values/greeting", json: ["value": "hi"], headers: ["If-None-Match: *"])
        #expect(again.status == 412, "\(again)")
        let stale = try await gateway.admin("PUT", "/named-values/greeting", json: ["value": "hi"], headers: ["If-Match: \"0000\""])
        #expect(stale.status == 412, "\(stale)")
        let updated = try await gateway.admin("PUT", "/named-values/greeting", json: ["value": "hi"], headers: ["If-Match: \(etag)"])
        #expect(updated.status == 200, "\(updated)")
        #expect(updated.headers["etag"] != etag)
        let read = try await gateway.admin("GET", "/named-values/greeting")
        #expect(read.headers["etag"] == updated.headers["etag"])
        #expect(read.json["value"] as? String == "hi")
        let staleDelete = try await gateway.admin("DELETE", "/named-values/greeting", headers: ["If-Match: \(etag)"])
        #expect(staleDelete.status == 412)
        let deleted = try await gateway.admin("DELETE", "/named-values/greeting", headers: ["If-Match: \(updated.headers["etag"] ?? "")"])
        #expect(deleted.status == 204)
        #expect(try await gateway.admin("GET", "/named-values/greeting").status == 404)
    }

    @Test func privateKeysAndSecretValuesAreNeverReturned() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        let secret = "s3cr3t-\(UUID().uuidString)"
        #expect(try await gateway.admin("PUT", "/named-values/api-key", json: ["value": secret, "secret": true]).status == 201)
        let key = try gateway.text(gateway.pki.serverKey)
        let upload = try await gateway.admin("PUT", "/certificates/server", json: ["pem": try gateway.text(gateway.pki.serverCertificate), "key": key])
        #expect(upload.status == 201, "\(upload)")
        #expect(upload.json["hasPrivateKey"] as? Bool == true)
        #expect((upload.json["thumbprint"] as? String)?.count == 40)
        #expect(upload.json["notAfter"] != nil)
        let keyBody = key.split(separator: "\n").dropFirst().first.map(String.init) ?? key
        for path in ["/named-values/api-key", "/named-values", "/certificates/server", "/certificates", "/audit"] {
            let answer = try await gateway.admin("GET", path)
            #expect(answer.status == 200)
            #expect(!answer.body.contains(secret), "\(path) shows the secret")
            #expect(!answer.body.contains(keyBody), "\(path) shows the private key")
        }
        #expect(try await gateway.admin("GET", "/named-values/api-key").json["secret"] as? Bool == true)
        #expect(try await gateway.admin("GET", "/named-values/api-key").json["value"] == nil)
    }

    @Test func pfxUploadsWithTheirPasswordAndAWrongPasswordIsAClear400() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        let folder = try CLITests.temporaryFolder()
        try CLITests.openssl(["pkcs12", "-export", "-in", gateway.pki.serverCertificate, "-inkey", gateway.pki.serverKey,
                              "-passout", "pass:correct-horse", "-out", folder + "/server.pfx"])
        let pfx = try Data(contentsOf: URL(fileURLWithPath: folder + "/server.pfx")).base64EncodedString()
        let wrong = try await gateway.admin("PUT", "/certificates/server", json: ["pfx": pfx, "password": "battery-staple"])
        #expect(wrong.status == 400)
        #expect(wrong.errorCode == "WrongPassword")
        #expect(wrong.errorMessage.contains("password is wrong"), "\(wrong)")
        let right = try await gateway.admin("PUT", "/certificates/server", json: ["pfx": pfx, "password": "correct-horse"])
        #expect(right.status == 201, "\(right)")
        #expect(right.json["hasPrivateKey"] as? Bool == true)
        // The PFX's key serves TLS: a hostname on it answers.
        #expect(try await gateway.admin("PUT", "/hostnames/localhost", json: ["certificate": "server"]).status == 201)
        #expect(try await gateway.admin("PUT", "/apis/echo", json: ["path": "/echo", "backend": "http://127.0.0.1:\(gateway.echo.port)"]).status == 201)
        #expect(try await gateway.get("/echo/x", certificate: false).httpCode == 200)
    }

    @Test func hostileBodiesGetSpecific400s() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        let cases: [(String, String, String, String)] = [
            ("/named-values/a", "{not json", "application/json", "not valid JSON"),
            ("/named-values/a", "[1,2]", "application/json", "a JSON object is expected"),
            ("/named-values/a", #"{"value": 5}"#, "application/json", "'value' must be a string"),
            ("/named-values/a", #"{"value": "x", "secret": "yes"}"#, "application/json", "'secret' must be true or false"),
            ("/named-values/a", #"{"value": "x", "extra": 1}"#, "application/json", "unknown field 'extra'"),
            ("/certificates/a", #"{"pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}"#, "application/json", "not a PEM certificate chain"),
            ("/certificates/a", #"{"pem": "hello"}"#, "application/json", "not a PEM certificate chain"),
            ("/certificates/a", #"{"pfx": "!!!"}"#, "application/json", "base64"),
            ("/certificates/a", #"{"pfx": "MIIBAAAA"}"#, "application/json", "PFX cannot be read"),
            ("/ca-certificates/a", #"{"pem": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"}"#, "application/json", "not a PEM certificate"),
            ("/crls/a", #"{"der": "MIIB"}"#, "application/json", "not a CRL"),
            ("/hostnames/a.test", #"{"clientCertificate": "negotiate"}"#, "application/json", "'certificate'"),
            ("/apis/x", #"{"backend": "http://h", "policy": "p.xml"}"#, "application/json", "PUT /admin/apis/x/policy"),
            ("/named-values/bad%2Fid", #"{"value": "x"}"#, "application/json", "not a valid"),
            ("/policies/global", "\u{FF}", "application/xml", "not an XML policy document"),
        ]
        for (path, body, type, expected) in cases {
            let answer = try await gateway.admin("PUT", path, raw: body, contentType: type)
            #expect(answer.status == 400, "\(path) \(body): \(answer)")
            #expect(answer.errorMessage.contains(expected), "\(path) \(body): \(answer)")
        }
        // A server certificate with someone else's key.
        let mismatch = try await gateway.admin("PUT", "/certificates/a", json: [
            "pem": try gateway.text(gateway.pki.serverCertificate), "key": try gateway.text(gateway.pki.clientKey)])
        #expect(mismatch.status == 400 && mismatch.errorMessage.contains("does not belong"), "\(mismatch)")
        // A hostname naming a certificate that is not there: refused by the checks (422), nothing stored.
        let dangling = try await gateway.admin("PUT", "/hostnames/a.test", json: ["certificate": "nope"])
        #expect(dangling.status == 422 && dangling.errorDetails.contains { $0.contains("certificates/nope") }, "\(dangling)")
        // A field the configuration does not know, passed through to the YAML loader and refused there.
        let unknown = try await gateway.admin("PUT", "/apis/x", json: ["backend": "http://127.0.0.1:1", "bogus": true])
        #expect(unknown.status == 422 && unknown.errorDetails.contains { $0.contains("bogus") }, "\(unknown)")
        #expect(try await gateway.admin("GET", "/status").json["revision"] as? Int == 0, "nothing refused was stored")
    }

    /// Every route the OpenAPI document lists is served (no NoSuchRoute, no 405), with a token and
    /// without (401); methods it does not list are 405.
    @Test func theOpenAPIDocumentDescribesTheServedRoutes() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        let document = try #require(try JSONSerialization.jsonObject(with: Data(AdminOpenAPI.document.utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        // Per collection a list and an item route (13), status, audit, the document, API, operation
        // and product policies, and the subscription actions (listSecrets, regenerate ×2).
        let expectedRoutes = 2 * 13 + 6 + 3
        #expect(paths.count == expectedRoutes)
        for (template, operations) in paths {
            let path = String(template.dropFirst("/admin".count))
                .replacingOccurrences(of: "{id}", with: template.contains("/settings/") ? "gateway" : "probe")
                .replacingOccurrences(of: "{api}", with: "probe").replacingOccurrences(of: "{operation}", with: "probe")
                .replacingOccurrences(of: "{product}", with: "probe")
            for method in operations.keys where ["get", "put", "delete", "post"].contains(method) {
                let answer = try await gateway.admin(method.uppercased(), path, raw: method == "put" ? "{}" : nil, contentType: "application/json")
                #expect(answer.errorCode != "NoSuchRoute" && answer.status != 405, "\(method) \(path): \(answer)")
                if path != "/openapi.json" {
                    #expect(try await gateway.admin(method.uppercased(), path, auth: .none).status == 401, "\(method) \(path)")
                }
            }
            for method in ["GET", "POST", "PATCH"] where operations[method.lowercased()] == nil {
                let answer = try await gateway.admin(method, path)
                #expect(answer.status == 405, "\(method) \(path)")
                let allow: String = answer.headers["allow"] ?? ""
                let listed: [String] = operations.keys.filter { $0 != "parameters" }.map { $0.uppercased() }
                let missing: [String] = listed.filter { !allow.contains($0) }
                #expect(missing.isEmpty, "\(method) \(path): \(answer)")
            }
        }
        #expect(try await gateway.admin("GET", "/nothing-here").errorCode == "NoSuchRoute")
        #expect(try await gateway.admin("GET", "/audit?limit=-1").status == 400)
        #expect(try await gateway.admin("GET", "/audit?limit=many").status == 400)
    }

    /// An operation without a name is named "METHOD template" (as in the YAML); its policy is
    /// addressed by that name, percent-encoded in the path.
    @Test func operationPoliciesByDefaultOperationNames() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        _ = try await gateway.configureSeedSetup()
        let api = try await gateway.admin("PUT", "/apis/echo", json: [
            "path": "/echo", "backend": "http://127.0.0.1:\(gateway.echo.port)",
            "operations": [["method": "GET", "template": "/users/{id}"], ["method": "*", "template": "/*"]]])
        #expect(api.status == 200, "\(api)")
        let policy = try await gateway.admin("PUT", "/apis/echo/operations/GET%20%2Fusers%2F%7Bid%7D/policy", raw: """
            <policies><inbound><base /><return-response><set-status code="202" reason="Operation" /></return-response></inbound>
            <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
            """)
        #expect(policy.status == 201, "\(policy)")
        #expect(try await gateway.admin("GET", "/policies").jsonArray.contains { $0["id"] as? String == "operation:echo:GET /users/{id}" })
        // The API scope (the seed's, by <base />) runs first: no certificate, 403; with one, the operation's 202.
        #expect(try await gateway.get("/echo/users/7", certificate: true).httpCode == 202)
        #expect(try await gateway.get("/echo/users/7", certificate: false).httpCode == 403)
        #expect(try await gateway.get("/echo/other", certificate: true).httpCode == 200)
        // A policy for an operation that does not exist is refused.
        let orphan = try await gateway.admin("PUT", "/apis/echo/operations/nope/policy", raw: "<policies><inbound /><backend /><outbound /><on-error /></policies>")
        #expect(orphan.status == 422 && orphan.errorDetails.contains { $0.contains("no such scope") }, "\(orphan)")
        // Deleting the API deletes its policies with it; the gateway then has no route.
        #expect(try await gateway.admin("DELETE", "/apis/echo").status == 204)
        #expect(try await gateway.admin("GET", "/policies").jsonArray.isEmpty)
        #expect(try await gateway.get("/echo/users/7", certificate: true).httpCode == 404)
    }

    /// Changes sent at once are applied one after the other (none refused for a race); a replaced
    /// or deleted private key leaves the data directory; a new listen address is kept for the next
    /// start while the rest of the change applies.
    @Test func concurrentChangesKeyFilesAndListenChanges() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        // One curl, twelve PUTs on twelve connections at once.
        var arguments = ["--parallel", "--parallel-immediate", "--parallel-max", "12", "-X", "PUT",
                         "-H", "Authorization: Bearer \(gateway.token)", "-H", "Content-Type: application/json", "--data-binary", #"{"value":"x"}"#]
        for index in 0..<12 { arguments += ["-o", "/dev/null", "\(gateway.adminURL)/named-values/n\(index)"] }
        let parallel = try await Curl.run(arguments)
        let statuses = stride(from: 0, to: parallel.stdout.count, by: 3).map { offset in
            Int(parallel.stdout.dropFirst(offset).prefix(3)) ?? 0
        }
        #expect(statuses == Array(repeating: 201, count: 12))
        #expect(try await gateway.admin("GET", "/status").json["revision"] as? Int == 12)

        // (A key is written to the data directory only while a hostname serves with it.)
        let key = try gateway.text(gateway.pki.serverKey)
        let files = gateway.directory + "/files"
        func keyFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: files).filter { name in
                (try? String(contentsOfFile: files + "/" + name, encoding: .utf8)) == key
            }
        }
        #expect(try await gateway.admin("PUT", "/certificates/site", json: ["pem": try gateway.text(gateway.pki.serverCertificate), "key": key]).status == 201)
        #expect(try keyFiles().isEmpty)
        #expect(try await gateway.admin("PUT", "/hostnames/localhost", json: ["certificate": "site"]).status == 201)
        let keyFile = try #require(try keyFiles().first)
        let attributes = try FileManager.default.attributesOfItem(atPath: files + "/" + keyFile)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try await gateway.admin("DELETE", "/certificates/site").status == 422, "a hostname still serves with it")
        #expect(try await gateway.admin("DELETE", "/hostnames/localhost").status == 204)
        #expect(try await gateway.admin("DELETE", "/certificates/site").status == 204)
        #expect(try keyFiles().isEmpty, "the key left the data directory with the hostname")

        _ = try await gateway.configureSeedSetup()
        let moved = try await gateway.admin("PUT", "/settings/gateway", json: ["listen": ["address": "127.0.0.2", "port": 1], "defaultHostname": "localhost"])
        #expect(moved.status == 201, "\(moved)")
        #expect(moved.headers["x-drawbridge-warnings"] == "1")
        #expect(try await gateway.get("/echo/users/1", certificate: true).httpCode == 200, "still serving on its port")
        #expect(gateway.server.snapshot.config.defaultHostname == "localhost", "the rest of the change applies")
    }
}
