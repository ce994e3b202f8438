import ClientCertificates
import Foundation
import Testing

@testable import Policies

@Suite struct ValidateClientCertificateRuntimeTests {
    let root: PipelinePKI.Issued
    let client: PipelinePKI.Issued

    init() throws {
        root = try PipelinePKI.root()
        client = try PipelinePKI.leaf("client.example", issuer: root, dnsNames: ["api.client.example"])
    }

    func options(uploaded: [(String, X509Certificate2)] = []) -> PolicyPipelineOptions {
        PolicyPipelineOptions(
            tracing: true, verification: PipelinePKI.verification(trusting: [root]),
            certificates: DeploymentCertificateStore(version: 1, certificates: uploaded.map { (id: $0.0, certificate: $0.1) }))
    }

    func policy(_ attributes: String = "", identities: String = "") -> String {
        let body = identities.isEmpty ? "" : "<identities>\(identities)</identities>"
        return document(
            inbound: "<validate-client-certificate validate-revocation=\"false\" \(attributes)>\(body)</validate-client-certificate>",
            onError: "<set-header name=\"X-Reason\" exists-action=\"override\"><value>@(context.LastError.Reason)</value></set-header>")
    }

    func run(_ xml: String, chain: [[UInt8]], options: PolicyPipelineOptions? = nil) async throws -> (PolicyResult, [BackendRequest]) {
        try await execute(xml, request(chain: chain), options: options ?? self.options())
    }

    @Test func missingCertificate() async throws {
        let (result, sent) = try await run(policy(), chain: [])
        #expect(result.status == 401)
        #expect(result.bodyText == "{\"statusCode\":401,\"message\":\"Client certificate missing\"}")
        #expect(result.lastError?.reason == "ClientCertificateNotFound")
        #expect(result.lastError?.source == "validate-client-certificate")
        #expect(result.header("X-Reason") == "ClientCertificateNotFound")
        #expect(sent.isEmpty)
    }

    @Test func trustedCertificatePasses() async throws {
        let (result, sent) = try await run(policy(), chain: [client.der])
        #expect(result.status == 200)
        #expect(sent.count == 1)
    }

    @Test func untrustedCertificate() async throws {
        let other = try PipelinePKI.leaf(issuer: try PipelinePKI.root("Other Root"))
        let (result, _) = try await run(policy(), chain: [other.der])
        #expect(result.status == 401)
        #expect(result.bodyText == "{\"statusCode\":401,\"message\":\"Invalid client certificate\"}")
        #expect(result.lastError?.reason == "ClientCertificateNotTrusted")
        #expect(result.lastError?.message == "A certificate chain could not be built to a trusted root authority.")
        // validate-trust="false" accepts it (dates still checked).
        let (relaxed, _) = try await run(policy("validate-trust=\"false\""), chain: [other.der])
        #expect(relaxed.status == 200)
    }

    @Test func expiredAndNotYetValid() async throws {
        let expired = try PipelinePKI.leaf(issuer: root, notBefore: PipelinePKI.now - 30 * PipelinePKI.day, notAfter: PipelinePKI.now - PipelinePKI.day)
        let (result, _) = try await run(policy(), chain: [expired.der])
        #expect(result.lastError?.reason == "ClientCertificateExpired")
        let (ignored, _) = try await run(policy("validate-not-after=\"false\""), chain: [expired.der])
        #expect(ignored.status == 200)
        let future = try PipelinePKI.leaf(issuer: root, notBefore: PipelinePKI.now + PipelinePKI.day, notAfter: PipelinePKI.now + 30 * PipelinePKI.day)
        let (early, _) = try await run(policy(), chain: [future.der])
        #expect(early.lastError?.reason == "ClientCertificateNotYetValid")
        let (untrustedEarly, _) = try await run(policy("validate-trust=\"false\""), chain: [future.der])
        #expect(untrustedEarly.lastError?.reason == "ClientCertificateNotYetValid")
    }

    @Test func identities() async throws {
        let cert = client.wrapped
        let matching = [
            "<identity thumbprint=\"\(cert.thumbprint.lowercased())\" />",
            // The loader accepts at most 40 hex digits, so the DER sign byte is left out (see report).
            "<identity serial-number=\"\(PolicyExecution.trimmedHex(cert.serialNumber))\" />",
            "<identity common-name=\"client.example\" />",
            "<identity subject=\"O=Drawbridge Tests,  CN=client.example\" />",
            "<identity dns-name=\"API.client.example\" />",
            "<identity issuer-subject=\"\(cert.issuer)\" />",
            "<identity issuer-thumbprint=\"\(root.wrapped.thumbprint)\" common-name=\"client.example\" />",
            "<identity issuer-certificate-id=\"ca\" />",
            "<identity common-name=\"nobody\" /><identity common-name=\"client.example\" />",
        ]
        for identity in matching {
            let (result, _) = try await run(policy(identities: identity), chain: [client.der], options: options(uploaded: [("ca", root.wrapped)]))
            #expect(result.status == 200, "\(identity)")
        }
        let failing = [
            "<identity thumbprint=\"\(root.wrapped.thumbprint)\" />",
            "<identity common-name=\"client.example\" dns-name=\"other.example\" />",
            "<identity subject=\"CN=client.example\" />",
            "<identity issuer-thumbprint=\"\(cert.thumbprint)\" />",
            "<identity issuer-certificate-id=\"missing\" />",
        ]
        for identity in failing {
            let (result, _) = try await run(policy(identities: identity), chain: [client.der], options: options(uploaded: [("ca", root.wrapped)]))
            #expect(result.status == 401, "\(identity)")
            #expect(result.lastError?.reason == "ClientCertificateIdentityNotMatched")
            #expect(result.lastError?.message == "Certificate does not match any of allowed identities.")
        }
    }

    @Test func ignoreErrorContinues() async throws {
        let (result, sent) = try await run(policy("ignore-error=\"true\"", identities: "<identity common-name=\"nobody\" />"), chain: [client.der])
        #expect(result.status == 200)
        #expect(sent.count == 1)
        #expect(result.lastError == nil)
    }

    @Test func verdictsUseTheVerificationCache() async throws {
        let cache = VerificationCache()
        let options = PolicyPipelineOptions(verification: PipelinePKI.verification(trusting: [root], cache: cache))
        let xml = document(inbound: SeedSnippetPipelineTests.thumbprint.replacingOccurrences(of: "DESIRED-THUMBPRINT-IN-UPPER-CASE", with: client.wrapped.thumbprint))
        let built = try pipeline(xml, options: options)
        for _ in 0..<3 {
            let result = await built.run(request(chain: [client.der]), backend: RecordingBackend())
            #expect(result.status == 200)
        }
        #expect(cache.statistics.hits >= 2)
    }

    @Test func certificateObjectFailsClosedWithoutVerdict() throws {
        let object = ClientCertificateObject(client.wrapped, verdicts: .none)
        #expect(object.verify() == false)
        #expect(object.verifyNoRevocation() == false)
        #expect(object.thumbprint == client.wrapped.thumbprint)
        #expect(object.nameInfo(0, forIssuer: false) == "client.example")
    }
}
