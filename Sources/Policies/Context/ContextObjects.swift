import ClientCertificates
import Foundation
import PolicyExpressions

/// `context` (IProxyRequestContext): a view over one request's `RequestState`.
final class ContextObject: HostObject, @unchecked Sendable {
    let state: RequestState
    let request: RequestObject
    let response: ResponseObject
    var hostType: HostType { PolicyContextTypes.context }

    init(state: RequestState) {
        self.state = state
        request = RequestObject(state: state)
        response = ResponseObject(state: state)
    }
}

final class RequestObject: HostObject, @unchecked Sendable {
    let state: RequestState
    var hostType: HostType { PolicyContextTypes.request }
    init(state: RequestState) { self.state = state }
}

final class ResponseObject: HostObject, @unchecked Sendable {
    let state: RequestState
    var hostType: HostType { PolicyContextTypes.response }
    init(state: RequestState) { self.state = state }
}

/// `IUrl`: an immutable snapshot (a new one is made when the URL changes).
final class UrlObject: HostObject, @unchecked Sendable {
    let scheme: String
    let host: String
    let port: Int
    let path: String
    let query: [(name: String, value: String)]
    let queryBox: DictionaryBox
    var hostType: HostType { PolicyContextTypes.url }

    init(scheme: String, host: String, port: Int, path: String, query: [(name: String, value: String)]) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path.isEmpty ? "/" : path
        self.query = query
        var grouped: [(String, [String])] = []
        for (name, value) in query {
            if let index = grouped.firstIndex(where: { $0.0.caseInsensitiveCompare(name) == .orderedSame }) {
                grouped[index].1.append(value)
            } else {
                grouped.append((name, [value]))
            }
        }
        queryBox = DictionaryBox(multiValued: grouped, ignoresCase: true)
    }

    var queryString: String {
        guard !query.isEmpty else { return "" }
        return "?" + query.map { "\(URLText.encode($0.name))=\(URLText.encode($0.value))" }.joined(separator: "&")
    }

    var isDefaultPort: Bool { (scheme == "https" && port == 443) || (scheme == "http" && port == 80) }

    var text: String { "\(scheme)://\(host)\(isDefaultPort ? "" : ":\(port)")\(path)\(queryString)" }

    var foundationURL: URL? { URL(string: text) }
}

enum URLText {
    static let allowed: CharacterSet = {
        var set = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        set.insert(charactersIn: "-._~")
        return set
    }()

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// `context.Api` and `context.Operation` (static for the request).
final class IdentityObject: HostObject, @unchecked Sendable {
    let identity: PolicyAPIIdentity
    let isOperation: Bool
    let serviceURL: UrlObject?
    var hostType: HostType { isOperation ? PolicyContextTypes.operation : PolicyContextTypes.api }

    init(_ identity: PolicyAPIIdentity, isOperation: Bool) {
        self.identity = identity
        self.isOperation = isOperation
        serviceURL = identity.serviceURL.flatMap { url -> UrlObject? in
            guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return nil }
            let scheme = components.scheme ?? "https"
            return UrlObject(
                scheme: scheme, host: components.host ?? "", port: components.port ?? (scheme == "http" ? 80 : 443),
                path: components.percentEncodedPath, query: [])
        }
    }
}

/// `context.Deployment`, shared by every request of a pipeline.
public final class DeploymentObject: HostObject, Sendable {
    public let serviceName: String
    public let region: String
    public let gatewayId: String
    /// `Certificates`: uppercase SHA-1 thumbprint → certificate.
    let certificates: DictionaryBox
    public var hostType: HostType { PolicyContextTypes.deployment }

    public init(serviceName: String = "drawbridge", region: String = "local", gatewayId: String = "drawbridge",
                certificates: DeploymentCertificateStore? = nil) {
        self.serviceName = serviceName
        self.region = region
        self.gatewayId = gatewayId
        let entries = (certificates?.byThumbprint ?? [:]).sorted { $0.key < $1.key }.map { thumbprint, certificate in
            (thumbprint.uppercased(), Value.object(ClientCertificateObject(certificate, verdicts: .none)))
        }
        self.certificates = DictionaryBox(entries)
    }
}

final class LastErrorObject: HostObject, @unchecked Sendable {
    let error: PolicyLastError
    var hostType: HostType { PolicyContextTypes.lastError }
    init(_ error: PolicyLastError) { self.error = error }
}

/// The type of `context.User`, `context.Subscription` and `context.Product`, which are always null here.
final class AbsentObject: HostObject, @unchecked Sendable {
    let type: HostType
    var hostType: HostType { type }
    init(_ type: HostType) { self.type = type }
}

/// `X509Certificate2` over the certificate library's facade. `Verify()` and `VerifyNoRevocation()`
/// answer with verdicts the pipeline computed before evaluation; no verdict is `false` (fail closed).
public final class ClientCertificateObject: X509Certificate2Object, Sendable {
    public struct Verdicts: Sendable {
        public var verify: VerificationResult?
        public var verifyNoRevocation: VerificationResult?
        public static let none = Verdicts(verify: nil, verifyNoRevocation: nil)
        public init(verify: VerificationResult?, verifyNoRevocation: VerificationResult?) {
            self.verify = verify
            self.verifyNoRevocation = verifyNoRevocation
        }
    }

    public let certificate: X509Certificate2
    public let verdicts: Verdicts
    public let notBefore: DateTimeValue
    public let notAfter: DateTimeValue
    public let subjectName: X500DistinguishedNameObject
    public let issuerName: X500DistinguishedNameObject

    public init(_ certificate: X509Certificate2, verdicts: Verdicts) {
        self.certificate = certificate
        self.verdicts = verdicts
        notBefore = DateTimeValue(date: certificate.notBefore, kind: .utc).toLocal()
        notAfter = DateTimeValue(date: certificate.notAfter, kind: .utc).toLocal()
        subjectName = X500DistinguishedNameObject(name: certificate.subject)
        issuerName = X500DistinguishedNameObject(name: certificate.issuer)
    }

    public var thumbprint: String { certificate.thumbprint }
    public var subject: String { certificate.subject }
    public var issuer: String { certificate.issuer }
    public var serialNumber: String { certificate.serialNumber }
    public var rawData: [UInt8] { certificate.rawData }
    public var version: Int32 { Int32(clamping: certificate.version) }
    public var hasPrivateKey: Bool { certificate.hasPrivateKey }
    public func verify() -> Bool { verdicts.verify?.isValid ?? false }
    public func verifyNoRevocation() -> Bool { verdicts.verifyNoRevocation?.isValid ?? false }

    public func nameInfo(_ nameType: Int32, forIssuer: Bool) -> String {
        let all = X509NameType.allCases
        guard nameType >= 0, Int(nameType) < all.count else { return "" }
        return certificate.getNameInfo(all[Int(nameType)], forIssuer: forIssuer)
    }
}
