import ClientCertificates
import Foundation
import Testing

@testable import Policies

/// The seed's three client-certificate snippets, verbatim, run end to end with real certificates.
@Suite struct SeedSnippetPipelineTests {
    static let issuerAndSubject = """
        <choose>
            <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Verify() || context.Request.Certificate.Issuer != "trusted-issuer" || context.Request.Certificate.SubjectName.Name != "expected-subject-name")" >
                <return-response>
                    <set-status code="403" reason="Invalid client certificate" />
                </return-response>
            </when>
        </choose>
        """

    static let thumbprint = """
        <choose>
            <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Verify() || context.Request.Certificate.Thumbprint != "DESIRED-THUMBPRINT-IN-UPPER-CASE")" >
                <return-response>
                    <set-status code="403" reason="Invalid client certificate" />
                </return-response>
            </when>
        </choose>
        """

    static let uploaded = """
        <choose>
            <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Verify()  || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint))" >
                <return-response>
                    <set-status code="403" reason="Invalid client certificate" />
                </return-response>
            </when>
        </choose>

        """

    struct PKI {
        let root: PipelinePKI.Issued
        let client: PipelinePKI.Issued
        let stranger: PipelinePKI.Issued
        init() throws {
            root = try PipelinePKI.root()
            client = try PipelinePKI.leaf("client.example", issuer: root)
            let otherRoot = try PipelinePKI.root("Untrusted Root")
            stranger = try PipelinePKI.leaf("client.example", issuer: otherRoot)
        }
        func options(uploaded: [X509Certificate2] = []) -> PolicyPipelineOptions {
            let store = DeploymentCertificateStore(version: 1, certificates: uploaded.enumerated().map { (id: "cert\($0.offset)", certificate: $0.element) })
            return PolicyPipelineOptions(tracing: true, verification: PipelinePKI.verification(trusting: [root]), certificates: store)
        }
    }

    func expectRejected(_ result: PolicyResult, _ backend: [BackendRequest]) {
        #expect(result.status == 403)
        #expect(result.reason == "Invalid client certificate")
        #expect(backend.isEmpty)
        #expect(result.backendCalled == false)
    }

    @Test func snippetsLoadVerbatim() throws {
        for snippet in [Self.issuerAndSubject, Self.thumbprint, Self.uploaded] {
            let built = try pipeline(document(inbound: snippet))
            #expect(built.usesVerify)
            #expect(built.forwardsRequest)
        }
    }

    @Test func noCertificateIs403() async throws {
        let pki = try PKI()
        for snippet in [Self.issuerAndSubject, Self.thumbprint, Self.uploaded] {
            let (result, sent) = try await execute(document(inbound: snippet), request(), options: pki.options(uploaded: [pki.client.wrapped]))
            expectRejected(result, sent)
        }
    }

    @Test func issuerAndSubject() async throws {
        let pki = try PKI()
        let client = pki.client.wrapped
        // Verbatim: the placeholders never match a real certificate.
        var (result, sent) = try await execute(document(inbound: Self.issuerAndSubject), request(chain: [pki.client.der]), options: pki.options())
        expectRejected(result, sent)
        // With the real names filled in: accepted.
        let filled = Self.issuerAndSubject.replacingOccurrences(of: "trusted-issuer", with: client.issuer)
            .replacingOccurrences(of: "expected-subject-name", with: client.subject)
        (result, sent) = try await execute(document(inbound: filled), request(chain: [pki.client.der]), options: pki.options())
        #expect(result.status == 200)
        #expect(result.backendCalled)
        #expect(sent.count == 1)
        // Same names but an untrusted chain: Verify() is false.
        (result, sent) = try await execute(document(inbound: filled), request(chain: [pki.stranger.der]), options: pki.options())
        expectRejected(result, sent)
        // Wrong subject.
        let wrongSubject = Self.issuerAndSubject.replacingOccurrences(of: "trusted-issuer", with: client.issuer)
            .replacingOccurrences(of: "expected-subject-name", with: "CN=someone.else, O=Drawbridge Tests")
        (result, sent) = try await execute(document(inbound: wrongSubject), request(chain: [pki.client.der]), options: pki.options())
        expectRejected(result, sent)
    }

    @Test func thumbprint() async throws {
        let pki = try PKI()
        var (result, sent) = try await execute(document(inbound: Self.thumbprint), request(chain: [pki.client.der]), options: pki.options())
        expectRejected(result, sent)
        let filled = Self.thumbprint.replacingOccurrences(of: "DESIRED-THUMBPRINT-IN-UPPER-CASE", with: pki.client.wrapped.thumbprint)
        (result, sent) = try await execute(document(inbound: filled), request(chain: [pki.client.der]), options: pki.options())
        #expect(result.status == 200)
        #expect(sent.count == 1)
        #expect(result.trace.contains { $0.kind == .branch && $0.message == "not matched" })
        // The right thumbprint on an untrusted certificate is still rejected (fail closed).
        let other = Self.thumbprint.replacingOccurrences(of: "DESIRED-THUMBPRINT-IN-UPPER-CASE", with: pki.stranger.wrapped.thumbprint)
        (result, sent) = try await execute(document(inbound: other), request(chain: [pki.stranger.der]), options: pki.options())
        expectRejected(result, sent)
    }

    @Test func deploymentCertificatesAny() async throws {
        let pki = try PKI()
        var (result, sent) = try await execute(
            document(inbound: Self.uploaded), request(chain: [pki.client.der]), options: pki.options(uploaded: [pki.client.wrapped]))
        #expect(result.status == 200)
        #expect(sent.count == 1)
        (result, sent) = try await execute(
            document(inbound: Self.uploaded), request(chain: [pki.client.der]), options: pki.options(uploaded: [pki.root.wrapped]))
        expectRejected(result, sent)
    }

    @Test func unparseableCertificateIsNull() async throws {
        let pki = try PKI()
        let (result, sent) = try await execute(document(inbound: Self.thumbprint), request(chain: [[0x30, 0x03, 0x01, 0x01, 0x00]]), options: pki.options())
        expectRejected(result, sent)
    }
}
