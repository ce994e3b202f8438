import ClientCertificates
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import Policies

/// Certificates made in memory with swift-certificates for the pipeline tests (P-256, fast).
struct PipelinePKI {
    struct Issued {
        let certificate: Certificate
        let key: P256.Signing.PrivateKey
        let der: [UInt8]
        let wrapped: X509Certificate2
    }

    static let now = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28
    static let day: TimeInterval = 86_400

    static func issued(_ certificate: Certificate, _ key: P256.Signing.PrivateKey) throws -> Issued {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        let der = serializer.serializedBytes
        return Issued(certificate: certificate, key: key, der: der, wrapped: try X509Certificate2(derEncoded: der))
    }

    static func keyIdentifier(_ key: P256.Signing.PrivateKey) -> ArraySlice<UInt8> {
        ArraySlice(Insecure.SHA1.hash(data: key.publicKey.x963Representation))
    }

    static func name(_ cn: String) throws -> DistinguishedName {
        try DistinguishedName { CommonName(cn); OrganizationName("Drawbridge Tests") }
    }

    static func root(_ cn: String = "Pipeline Test Root") throws -> Issued {
        let key = P256.Signing.PrivateKey()
        let subject = try name(cn)
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now - 365 * day,
            notValidAfter: now + 365 * day, issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(keyIdentifier: keyIdentifier(key))
            }, issuerPrivateKey: .init(key))
        return try issued(certificate, key)
    }

    static func leaf(
        _ cn: String = "client.example", issuer: Issued, notBefore: Date = now - day, notAfter: Date = now + 90 * day,
        dnsNames: [String] = []
    ) throws -> Issued {
        let key = P256.Signing.PrivateKey()
        var extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.clientAuth])
            AuthorityKeyIdentifier(keyIdentifier: keyIdentifier(issuer.key))
        }
        if !dnsNames.isEmpty {
            try extensions.append(try SubjectAlternativeNames(dnsNames.map { GeneralName.dnsName($0) }).makeCertificateExtension())
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: issuer.certificate.subject, subject: try name(cn), signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: .init(issuer.key))
        return try issued(certificate, key)
    }

    /// A verification context trusting `roots`, at the fixed test time.
    static func verification(trusting roots: [Issued], cache: VerificationCache? = nil) -> VerificationContext {
        var options = VerificationOptions()
        options.validationTime = now
        options.checkRevocation = false
        return VerificationContext(trustStore: TrustStore(version: 1, roots: roots.map(\.wrapped)), options: options, cache: cache, clock: { now })
    }
}

/// A backend that records what it was sent and answers with a fixed response.
final class RecordingBackend: PolicyBackend, @unchecked Sendable {
    private let lock = NSLock()
    private var sent: [BackendRequest] = []
    let status: Int
    let headers: [PolicyHeader]
    let body: String
    let failure: (any Error)?

    init(status: Int = 200, headers: [PolicyHeader] = [PolicyHeader("Content-Type", "text/plain")], body: String = "backend body", failure: (any Error)? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.failure = failure
    }

    var requests: [BackendRequest] { lock.withLock { sent } }

    func send(_ request: BackendRequest) async throws -> BackendResponse {
        lock.withLock { sent.append(request) }
        if let failure { throw failure }
        return BackendResponse(status: status, headers: headers, body: BufferedBody(body))
    }
}

/// A body source that counts reads, to prove the pipeline reads bodies only when needed.
final class CountingBody: PolicyBodySource, @unchecked Sendable {
    private let lock = NSLock()
    private var reads = 0
    let bytes: [UInt8]
    init(_ text: String) { bytes = Array(text.utf8) }
    var readCount: Int { lock.withLock { reads } }
    func collect(upTo limit: Int) async throws -> [UInt8] {
        lock.withLock { reads += 1 }
        return bytes
    }
}

/// `<policies>` with the given sections (inbound given; backend forwards by default).
func document(inbound: String = "", backend: String = "<forward-request />", outbound: String = "", onError: String = "") -> String {
    "<policies><inbound>\(inbound)</inbound><backend>\(backend)</backend><outbound>\(outbound)</outbound><on-error>\(onError)</on-error></policies>"
}

func pipeline(_ xml: String, scope: PolicyScope = .api, options: PolicyPipelineOptions = PolicyPipelineOptions(tracing: true)) throws -> PolicyPipeline {
    try PolicyPipeline.load([(xml, "test.xml", scope)], options: options)
}

func request(
    method: String = "GET", path: String = "/echo/items/7", query: [(name: String, value: String)] = [], headers: [PolicyHeader] = [],
    clientIP: String = "10.0.0.5", chain: [[UInt8]] = [], matched: [(name: String, value: String)] = [("id", "7")]
) -> PolicyRequest {
    PolicyRequest(
        method: method, host: "gw.example", path: path, query: query, headers: headers, clientIP: clientIP, clientCertificateChain: chain,
        matchedParameters: matched,
        identity: PolicyAPIIdentity(
            apiId: "echo", apiName: "Echo API", apiPath: "/echo", serviceURL: URL(string: "https://backend.example/api"),
            operationId: "get-item", operationName: "Get item", operationMethod: "GET", urlTemplate: "/items/{id}"))
}

/// Loads, runs and returns the result and what the backend received.
func execute(
    _ xml: String, _ request: PolicyRequest = request(), body: (any PolicyBodySource)? = nil, backend: RecordingBackend = RecordingBackend(),
    options: PolicyPipelineOptions = PolicyPipelineOptions(tracing: true)
) async throws -> (PolicyResult, [BackendRequest]) {
    let pipeline = try pipeline(xml, options: options)
    let result = await pipeline.run(request, body: body, backend: backend)
    return (result, backend.requests)
}
