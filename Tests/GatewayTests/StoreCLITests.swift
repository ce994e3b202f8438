import Foundation
import Gateway
import NIOConcurrencyHelpers
import NIOPosix
import Testing

/// `drawbridge serve --store`, `config export` and `config import` as an operator runs them: the
/// executable, `kill -9` in the middle of writes, a restart, and a YAML round trip.
@Suite(.serialized, .enabled(if: Curl.isAvailable))
struct StoreCLITests {
    /// A `drawbridge serve --store` process and the ports it logged.
    final class Served: Sendable {
        let process: Process
        let port: Int
        let adminURL: String
        let token: String

        init(process: Process, port: Int, adminURL: String, token: String) {
            self.process = process
            self.port = port
            self.adminURL = adminURL
            self.token = token
        }

        static func start(store: String, extraArguments: [String] = []) async throws -> Served {
            let executable = try #require(CLITests.executable)
            let process = Process()
            process.executableURL = executable
            process.arguments = ["serve", "--store", store, "--port", "0", "--operations-port", "0"] + extraArguments
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            let output = NIOLockedValueBox("")
            out.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                output.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
            }
            try process.run()
            func port(after marker: String) -> Int? {
                let text = output.withLockedValue { $0 }
                guard let line = text.split(separator: "\n").first(where: { $0.contains(marker) }),
                      let field = line.split(separator: " ").first(where: { $0.hasPrefix("port=") }) else { return nil }
                return Int(field.dropFirst(5))
            }
            for _ in 0..<600 {
                if let gateway = port(after: "[Gateway] listening"), let operations = port(after: "operations listener") {
                    // (A node on a shared database that already had a token writes none.)
                    let token = ((try? String(contentsOfFile: store + "/admin-token", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                    return Served(process: process, port: gateway, adminURL: "http://127.0.0.1:\(operations)/admin", token: token)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            process.terminate()
            throw TestFailure("serve --store did not start: \(output.withLockedValue { $0 })")
        }

        func admin(_ method: String, _ path: String, json: Any? = nil, raw: String? = nil) async throws -> TestAdminGateway.Answer {
            try await TestAdminGateway.call(adminURL: adminURL, method, path, json: json, raw: raw, token: token)
        }

        func get(_ path: String, pki: DemoPKI, certificate: Bool) async throws -> Curl.Result {
            var arguments = ["--cacert", pki.rootCA, "-i", "--resolve", "localhost:\(port):127.0.0.1"]
            if certificate { arguments += ["--cert", pki.clientCertificate, "--key", pki.clientKey] }
            return try await Curl.run(arguments + ["https://localhost:\(port)\(path)"])
        }

        /// SIGTERM: drain, close the store, exit 0 (nil when it was already gone).
        @discardableResult
        func stop() -> Int32? {
            guard process.isRunning else { return nil }
            process.terminate()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    @Test func killDashNineDuringWritesLosesNothingAcknowledgedAndARestartServesTheSame() async throws {
        let pki = try await SharedPKI.shared.pki()
        let echo = try await EchoBackend.start(group: MultiThreadedEventLoopGroup.singleton)
        defer { Task { await echo.stop() } }
        let store = try CLITests.temporaryFolder() + "/store"
        let first = try await Served.start(store: store)
        defer { first.stop() }
        let seed = try String(contentsOfFile: try DemoGateway.writePolicy(pki: pki), encoding: .utf8)
        for (path, body) in [
            ("/ca-certificates/root", ["pem": try String(contentsOfFile: pki.rootCA, encoding: .utf8)]),
            ("/ca-certificates/intermediate", ["pem": try String(contentsOfFile: pki.intermediateCA, encoding: .utf8)]),
            ("/certificates/localhost", ["pem": try String(contentsOfFile: pki.serverCertificate, encoding: .utf8),
                                         "key": try String(contentsOfFile: pki.serverKey, encoding: .utf8)]),
            ("/hostnames/localhost", ["certificate": "localhost", "clientCertificate": "negotiate"]),
            ("/apis/echo", ["path": "/echo", "backend": "http://127.0.0.1:\(echo.port)"]),
        ] {
            let answer = try await first.admin("PUT", path, json: body)
            #expect(answer.status == 201, "\(path): \(answer)")
        }
        #expect(try await first.admin("PUT", "/apis/echo/policy", raw: seed).status == 201)
        #expect(try await first.get("/echo/users/1", pki: pki, certificate: true).httpCode == 200)
        #expect(try await first.get("/echo/users/1", pki: pki, certificate: false).httpCode == 403)

        // Writes, one after the other as fast as they are answered; kill -9 while they go on.
        let acknowledged = NIOLockedValueBox<[Int]>([])
        let writer = Task {
            for index in 0..<100_000 {
                guard let answer = try? await first.admin("PUT", "/named-values/v\(index)", json: ["value": "value \(index)"]) else { return }
                guard answer.status == 201 else { return }
                acknowledged.withLockedValue { $0.append(index) }
            }
        }
        while acknowledged.withLockedValue({ $0.count }) < 20 { try await Task.sleep(for: .milliseconds(20)) }
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        _ = await writer.value
        let written = acknowledged.withLockedValue { $0 }
        #expect(written.count >= 20)

        let second = try await Served.start(store: store)
        defer { second.stop() }
        let values = try await second.admin("GET", "/named-values")
        let stored = Set(values.jsonArray.compactMap { $0["id"] as? String })
        for index in written { #expect(stored.contains("v\(index)"), "acknowledged v\(index) lost") }
        // Nothing half-written: at most the one write in flight at the kill is there beyond them.
        #expect(stored.count <= written.count + 1)
        for item in values.jsonArray {
            let id = item["id"] as? String ?? ""
            #expect(item["value"] as? String == "value \(id.dropFirst())")
        }
        #expect(try await second.get("/echo/users/1", pki: pki, certificate: true).httpCode == 200)
        #expect(try await second.get("/echo/users/1", pki: pki, certificate: false).httpCode == 403)
        #expect((try await second.admin("GET", "/apis/echo/policy").json["xml"] as? String) == seed)
        #expect(second.stop() == 0, "SIGTERM: a clean exit")
        print("kill -9: \(written.count) writes acknowledged before the kill, \(stored.count) stored after the restart")
    }

    /// `config export` of a store configured through the API, `check` of the export, `config import`
    /// into a fresh store, which then answers a set of requests as the original does.
    @Test func exportThenImportIntoAFreshStoreServesTheSameResponses() async throws {
        let original = try await TestAdminGateway.start()
        defer { Task { try? await original.stop() } }
        _ = try await original.configureSeedSetup()
        #expect(try await original.admin("PUT", "/apis/open", json: ["path": "/open", "backend": "http://127.0.0.1:\(original.echo.port)",
                                                                   "operations": [["name": "get-item", "method": "GET", "template": "/items/{id}"]]]).status == 201)
        #expect(try await original.admin("PUT", "/apis/open/operations/get-item/policy", raw: """
            <policies><inbound><base /><set-header name="X-Item" exists-action="override"><value>@("{{item-prefix}}-" + context.Request.MatchedParameters["id"])</value></set-header></inbound>
            <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
            """).status == 422, "a named value that does not exist is refused")
        #expect(try await original.admin("PUT", "/named-values/item-prefix", json: ["value": "it", "secret": true]).status == 201)
        #expect(try await original.admin("PUT", "/apis/open/operations/get-item/policy", raw: """
            <policies><inbound><base /><set-header name="X-Item" exists-action="override"><value>@("{{item-prefix}}-" + context.Request.MatchedParameters["id"])</value></set-header></inbound>
            <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
            """).status == 201)

        // A product with a policy and a subscription with set keys (both keys must round-trip).
        #expect(try await original.admin("PUT", "/apis/keyed", json: ["path": "/keyed", "backend": "http://127.0.0.1:\(original.echo.port)",
                                                                    "subscriptionRequired": true]).status == 201)
        #expect(try await original.admin("PUT", "/products/gold", json: ["name": "Gold", "apis": ["keyed"]]).status == 201)
        #expect(try await original.admin("PUT", "/products/gold/policy", raw: """
            <policies><inbound><base /><set-header name="X-Product" exists-action="override"><value>@(context.Product.Name + "/" + context.Subscription.Id)</value></set-header></inbound>
            <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
            """).status == 201)
        #expect(try await original.admin("PUT", "/subscriptions/sub1", json: ["scope": "product:gold", "primaryKey": "roundtrip-primary-1",
                                                                              "secondaryKey": "roundtrip-secondary-1"]).status == 201)

        // A backend entity a policy names, and uploaded CRLs referenced from the settings.
        #expect(try await original.admin("PUT", "/backends/echo-base", json: ["url": "http://127.0.0.1:\(original.echo.port)/base"]).status == 201)
        #expect(try await original.admin("PUT", "/apis/routed", json: ["path": "/routed", "backend": "http://127.0.0.1:9"]).status == 201)
        #expect(try await original.admin("PUT", "/apis/routed/policy", raw: """
            <policies><inbound><set-backend-service backend-id="echo-base" /></inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """).status == 201)
        for name in ["root", "intermediate"] {
            let der = try Data(contentsOf: URL(fileURLWithPath: (original.pki.crlDirectory as NSString).appendingPathComponent("\(name).crl")))
            #expect(try await original.admin("PUT", "/crls/\(name)", json: ["der": der.base64EncodedString()]).status == 201)
        }
        #expect(try await original.admin("PUT", "/settings/gateway", json: [
            "policies": ["revocation": ["crlFiles": ["@crls/root", "@crls/intermediate"]]],
        ]).status == 201)

        let folder = try CLITests.temporaryFolder()
        let exported = try await CLITests.run(["config", "export", "--store", original.directory, "--out", folder + "/export"])
        #expect(exported.status == 0, "\(exported.stderr)")
        let check = try await CLITests.run(["check", "--config", folder + "/export/gateway.yaml"])
        #expect(check.status == 0, "\(check.stderr)")
        let imported = try await CLITests.run(["config", "import", "--config", folder + "/export/gateway.yaml", "--store", folder + "/fresh"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let again = try await CLITests.run(["config", "import", "--config", folder + "/export/gateway.yaml", "--store", folder + "/fresh"])
        #expect(again.stdout.contains("already holds this configuration"), "\(again.stdout) \(again.stderr)")

        let copy = try await Served.start(store: folder + "/fresh")
        defer { copy.stop() }
        func summary(_ result: Curl.Result) -> String {
            // Status line, and what the backend saw of the path and the policy's header.
            let status = result.stdout.split(separator: "\r\n").first.map(String.init) ?? ""
            let path = result.stdout.range(of: #""path":"[^"]*""#, options: .regularExpression).map { String(result.stdout[$0]) } ?? ""
            let item = result.stdout.range(of: #""x-item":"[^"]*""#, options: [.regularExpression, .caseInsensitive]).map { String(result.stdout[$0]) } ?? ""
            let product = result.stdout.range(of: #""x-product":"[^"]*""#, options: [.regularExpression, .caseInsensitive]).map { String(result.stdout[$0]) } ?? ""
            return "\(status) \(path) \(item) \(product)"
        }
        for (path, certificate) in [("/echo/users/42", true), ("/echo/users/42", false), ("/open/items/7", false), ("/open/other", false), ("/nowhere", true),
                                    ("/keyed/a?subscription-key=roundtrip-primary-1", false), ("/keyed/a?subscription-key=roundtrip-secondary-1", false),
                                    ("/keyed/a", false), ("/keyed/a?subscription-key=wrong-key-123", false), ("/routed/x", false)] {
            let a = summary(try await original.get(path, certificate: certificate))
            let b = summary(try await copy.get(path, pki: original.pki, certificate: certificate))
            #expect(a == b, "\(path) certificate \(certificate)")
            #expect(!a.isEmpty)
        }
        let item = try await copy.get("/open/items/7", pki: original.pki, certificate: false)
        #expect(summary(item).lowercased().contains("\"x-item\":\"it-7\""), "\(item.stdout)")
        let copied = try await copy.admin("GET", "/status")
        #expect((copied.json["resources"] as? [String: Any])?["crls"] as? Int == 2, "\(copied)")
        #expect((copied.json["resources"] as? [String: Any])?["backends"] as? Int == 1, "\(copied)")
        let routed = try await copy.get("/routed/x", pki: original.pki, certificate: false)
        #expect(routed.stdout.contains("\"path\":\"/base/x\""), "\(routed.stdout)")
        let keyed = try await copy.get("/keyed/a?subscription-key=roundtrip-secondary-1", pki: original.pki, certificate: false)
        #expect(summary(keyed).lowercased().contains("\"x-product\":\"gold/sub1\""), "\(keyed.stdout)")
    }

    /// `drawbridge admin …` verbs against a served store: a token made with `create-token`, a CA
    /// and a certificate uploaded, the list with expiry, a hostname's mode changed, a policy put
    /// (and a broken one refused with its position).
    @Test func adminVerbsManageAServedStore() async throws {
        let pki = try await SharedPKI.shared.pki()
        let echo = try await EchoBackend.start(group: MultiThreadedEventLoopGroup.singleton)
        defer { Task { await echo.stop() } }
        let folder = try CLITests.temporaryFolder()
        let store = folder + "/store"
        let served = try await Served.start(store: store)
        defer { served.stop() }
        let created = try await CLITests.run(["admin", "create-token", "--store", store, "--name", "ci"])
        #expect(created.status == 0)
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("dbt_"))
        try token.write(toFile: folder + "/ci-token", atomically: true, encoding: .utf8)
        let connection = ["--url", served.adminURL, "--token-file", folder + "/ci-token"]

        let ca = try await CLITests.run(["admin", "upload-ca"] + connection + ["root", pki.rootCA])
        #expect(ca.status == 0 && ca.stdout.contains("Root"), "\(ca.stdout) \(ca.stderr)")
        #expect(try await CLITests.run(["admin", "upload-ca"] + connection + ["intermediate", pki.intermediateCA]).status == 0)
        let certificate = try await CLITests.run(["admin", "upload-certificate"] + connection + ["localhost", "--pem", pki.serverCertificate, "--key", pki.serverKey])
        #expect(certificate.status == 0 && certificate.stdout.contains("private key: true"), "\(certificate.stdout) \(certificate.stderr)")
        let list = try await CLITests.run(["admin", "certificates"] + connection)
        #expect(list.stdout.contains("ca-certificates/root  expires 20"), "\(list.stdout)")
        #expect(list.stdout.contains("certificates/localhost  expires 20") && list.stdout.contains("with key"), "\(list.stdout)")

        #expect(try await served.admin("PUT", "/hostnames/localhost", json: ["certificate": "localhost"]).status == 201)
        #expect(try await served.admin("PUT", "/apis/echo", json: ["path": "/echo", "backend": "http://127.0.0.1:\(echo.port)"]).status == 201)
        #expect(try await served.get("/echo/a", pki: pki, certificate: false).httpCode == 200)
        let required = try await CLITests.run(["admin", "set-client-certificate"] + connection + ["localhost", "required"])
        #expect(required.status == 0, "\(required.stderr)")
        #expect(try await served.get("/echo/a", pki: pki, certificate: false).httpCode != 200, "required: no certificate, no handshake")
        #expect(try await served.get("/echo/a", pki: pki, certificate: true).httpCode == 200)

        try """
        <policies><inbound><return-response><set-status code="418" reason="From the CLI" /></return-response></inbound>
        <backend><forward-request /></backend><outbound /><on-error /></policies>
        """.write(toFile: folder + "/policy.xml", atomically: true, encoding: .utf8)
        let put = try await CLITests.run(["admin", "put-policy"] + connection + ["api:echo", folder + "/policy.xml"])
        #expect(put.status == 0, "\(put.stderr)")
        #expect(try await served.get("/echo/a", pki: pki, certificate: true).httpCode == 418)
        try """
        <policies><inbound><set-variable name="x" value="@(1 +)" /></inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
        """.write(toFile: folder + "/broken.xml", atomically: true, encoding: .utf8)
        let broken = try await CLITests.run(["admin", "put-policy"] + connection + ["api:echo", folder + "/broken.xml"])
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("HTTP 422") && broken.stderr.range(of: #"policies/api:echo:1:\d+"#, options: .regularExpression) != nil, "\(broken.stderr)")
        #expect(try await served.get("/echo/a", pki: pki, certificate: true).httpCode == 418, "the running policy stays")
        let audit = try await served.admin("GET", "/audit?limit=1")
        #expect(audit.jsonArray.first?["actor"] as? String == "ci", "the last change is the CLI's, with its token's name")
        let noToken = try await CLITests.run(["admin", "certificates", "--url", served.adminURL])
        #expect(noToken.status != 0)

        // Products and subscriptions from the CLI: the keys are printed once and open the API.
        #expect(try await served.admin("PUT", "/apis/echo", json: ["path": "/echo", "backend": "http://127.0.0.1:\(echo.port)",
                                                                   "subscriptionRequired": true]).status == 200)
        #expect(try await CLITests.run(["admin", "put-policy"] + connection + ["api:echo", folder + "/open.xml"]).status != 0, "no such file")
        try "<policies><inbound /><backend><forward-request /></backend><outbound /><on-error /></policies>"
            .write(toFile: folder + "/open.xml", atomically: true, encoding: .utf8)
        #expect(try await CLITests.run(["admin", "put-policy"] + connection + ["api:echo", folder + "/open.xml"]).status == 0)
        let product = try await CLITests.run(["admin", "put-product"] + connection + ["gold", "--api", "echo", "--name", "Gold"])
        #expect(product.status == 0 && product.stdout.contains("products/gold: echo"), "\(product.stdout) \(product.stderr)")
        let subscription = try await CLITests.run(["admin", "create-subscription"] + connection + ["ci-app", "--scope", "product:gold"])
        #expect(subscription.status == 0, "\(subscription.stderr)")
        let primary = subscription.stdout.split(separator: "\n").first { $0.hasPrefix("primary key:") }
            .map { String($0.dropFirst("primary key:".count)).trimmingCharacters(in: .whitespaces) } ?? ""
        #expect(primary.count == 32, "\(subscription.stdout)")
        #expect(try await served.get("/echo/a?subscription-key=\(primary)", pki: pki, certificate: true).httpCode == 200)
        #expect(try await served.get("/echo/a", pki: pki, certificate: true).httpCode == 401)
        let regenerated = try await CLITests.run(["admin", "regenerate-key"] + connection + ["ci-app", "primary"])
        let newPrimary = regenerated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(regenerated.status == 0 && newPrimary.count == 32 && newPrimary != primary, "\(regenerated.stdout) \(regenerated.stderr)")
        #expect(try await served.get("/echo/a?subscription-key=\(primary)", pki: pki, certificate: true).httpCode == 401)
        #expect(try await served.get("/echo/a?subscription-key=\(newPrimary)", pki: pki, certificate: true).httpCode == 200)
        let badScope = try await CLITests.run(["admin", "create-subscription"] + connection + ["other", "--scope", "product:nope"])
        #expect(badScope.status == 1 && badScope.stderr.contains("product 'nope' is not configured"), "\(badScope.stderr)")
    }
}
