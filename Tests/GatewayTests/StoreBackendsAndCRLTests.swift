import Foundation
import Gateway
import Testing

/// Backend entities and uploaded CRLs through the admin API: `set-backend-service backend-id` uses
/// the stored backends; "@crls/<id>" works in hostnames and in settings (revocation.crlFiles).
@Suite(.serialized, .enabled(if: Curl.isAvailable))
struct StoreBackendsAndCRLTests {
    @Test func backendsAreResourcesThatPoliciesNameAndCannotBeDeletedWhileUsed() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        _ = try await gateway.configureSeedSetup()
        // The API points nowhere useful; the backend entity points to the echo backend.
        #expect(try await gateway.admin("PUT", "/apis/echo", json: ["path": "/echo", "backend": "http://127.0.0.1:9"]).status == 200)
        let bad = try await gateway.admin("PUT", "/backends/echo-backend", json: ["url": "ftp://nope"])
        #expect(bad.status == 400 && bad.errorMessage.contains("absolute http:// or https:// URL"), "\(bad)")
        #expect(try await gateway.admin("PUT", "/backends/echo-backend", json: ["url": "http://127.0.0.1:\(gateway.echo.port)/base",
                                                                             "description": "the echo backend"]).status == 201)
        let unknown = try await gateway.admin("PUT", "/apis/echo/policy", raw: """
            <policies><inbound><set-backend-service backend-id="other" /></inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        #expect(unknown.status == 422 && unknown.errorDetails.contains { $0.contains("unknown backend-id 'other'") && $0.contains("echo-backend") }, "\(unknown)")
        #expect(try await gateway.admin("PUT", "/apis/echo/policy", raw: """
            <policies><inbound><set-backend-service backend-id="echo-backend" /></inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """).status == 200)
        let routed = try await gateway.get("/echo/users/5", certificate: true)
        #expect(routed.httpCode == 200 && routed.stdout.contains("\"path\":\"/base/users/5\""), "\(routed.stdout)")
        let listed = try await gateway.admin("GET", "/backends")
        #expect(listed.jsonArray.first?["url"] as? String == "http://127.0.0.1:\(gateway.echo.port)/base", "\(listed)")
        // In use: deleting it is refused and nothing changes.
        let delete = try await gateway.admin("DELETE", "/backends/echo-backend")
        #expect(delete.status == 422, "\(delete)")
        #expect(try await gateway.get("/echo/users/5", certificate: true).httpCode == 200)
    }

    @Test func uploadedCRLsRevokeInHostnamesAndInSettings() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        let pki = gateway.pki
        func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
        func der(_ name: String) throws -> String {
            try Data(contentsOf: URL(fileURLWithPath: (pki.crlDirectory as NSString).appendingPathComponent(name))).base64EncodedString()
        }
        var answers: [TestAdminGateway.Answer] = []
        answers.append(try await gateway.admin("PUT", "/ca-certificates/root", json: ["pem": try text(pki.rootCA)]))
        answers.append(try await gateway.admin("PUT", "/ca-certificates/intermediate", json: ["pem": try text(pki.intermediateCA)]))
        answers.append(try await gateway.admin("PUT", "/certificates/localhost", json: ["pem": try text(pki.serverCertificate), "key": try text(pki.serverKey)]))
        answers.append(try await gateway.admin("PUT", "/crls/root", json: ["der": try der("root.crl")]))
        answers.append(try await gateway.admin("PUT", "/crls/intermediate", json: ["der": try der("intermediate.crl")]))
        answers.append(try await gateway.admin("PUT", "/hostnames/localhost", json: [
            "certificate": "localhost", "clientCertificate": "negotiate", "crlFiles": ["@crls/root", "@crls/intermediate"],
        ]))
        answers.append(try await gateway.admin("PUT", "/apis/echo", json: ["path": "/echo", "backend": "http://127.0.0.1:\(gateway.echo.port)",
                                                                         "requireTrustedClientCertificate": true]))
        for answer in answers { #expect(answer.status == 201, "\(answer)") }
        func revoked() async throws -> Int? {
            try await Curl.run(["--cacert", pki.rootCA, "--cert", pki.revokedClientCertificate, "--key", pki.revokedClientKey,
                                gateway.baseURL + "/echo/a"]).httpCode
        }
        #expect(try await gateway.get("/echo/a", certificate: true).httpCode == 200)
        #expect(try await revoked() == 403, "the hostname's uploaded CRL lists it")

        // The same CRLs from the settings (revocation.crlFiles), the hostname's own removed.
        #expect(try await gateway.admin("PUT", "/hostnames/localhost", json: ["certificate": "localhost", "clientCertificate": "negotiate"]).status == 200)
        let settings = try await gateway.admin("PUT", "/settings/gateway", json: [
            "policies": ["revocation": ["crlFiles": ["@crls/root", "@crls/intermediate"]]],
        ])
        #expect(settings.status == 201, "\(settings)")
        #expect(try await gateway.get("/echo/a", certificate: true).httpCode == 200)
        #expect(try await revoked() == 403, "the settings' uploaded CRLs list it")
        // A reference to a CRL that is not uploaded is refused with its name.
        let dangling = try await gateway.admin("PUT", "/settings/gateway", json: ["policies": ["revocation": ["crlFiles": ["@crls/missing"]]]])
        #expect(dangling.status == 422 && dangling.errorDetails.contains { $0.contains("'@crls/missing' names no stored resource") }, "\(dangling)")
        // A CRL in use cannot be deleted.
        #expect(try await gateway.admin("DELETE", "/crls/intermediate").status == 422)
    }
}
