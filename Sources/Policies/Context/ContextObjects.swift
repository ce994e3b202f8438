import ClientCertificates
import Foundation
import PolicyExpressions

/// `context` (IProxyRequestContext): a view over one request's `RequestState`.
final class ContextObject: HostObject, @unchecked Sendable {
    let state: RequestState
    // Made when first read: most requests read few of them.
    private(set) lazy var request = RequestObject(state: state)
    private(set) lazy var response = ResponseObject(state: state)
    private(set) lazy var api = IdentityObject(state.identity, isOperation: false)
    private(set) lazy var operation = IdentityObject(state.identity, isOperation: true)
    var hostType: HostType { PolicyContextTypes.context }

    init(state: RequestState) {
        self.state = state
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
    /// `Query`, grouped by name when first read. One request's objects are used by one task at a
    /// time (the pipeline runs a request's expressions in order), so the lazy property is not raced.
    private(set) lazy var queryBox = Self.group(query)
    var hostType: HostType { PolicyContextTypes.url }

    init(scheme: String, host: String, port: Int, path: String, query: [(name: String, value: String)]) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path.isEmpty ? "/" : path
        self.query = query
    }

    static func group(_ query: [(name: String, value: String)]) -> DictionaryBox {
        var grouped: [(String, [String])] = []
        for (name, value) in query {
            if let index = grouped.firstIndex(where: { $0.0.caseInsensitiveCompare(name) == .orderedSame }) {
                grouped[index].1.append(value)
            } else {
                grouped.append((name, [value]))
            }
        }
        return DictionaryBox(multiValued: grouped, ignoresCase: true)
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
    /// Percent-encodes every UTF-8 byte but ASCII letters, digits and `-._~` (uppercase hex), as
    /// `addingPercentEncoding(withAllowedCharacters: allowed)` does, without Foundation's bridging.
    static func encode(_ text: String) -> String {
        func unreserved(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                true
            default: false
            }
        }
        if text.utf8.allSatisfy(unreserved) { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if unreserved(byte) {
                bytes.append(byte)
            } else {
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// `context.Api` and `context.Operation` (static for the request).
final class IdentityObject: HostObject, @unchecked Sendable {
    let identity: PolicyAPIIdentity
    let isOperation: Bool
    /// `ServiceUrl`, parsed when first read.
    private(set) lazy var serviceURL: UrlObject? = identity.serviceURL.flatMap { url -> UrlObject? in
            guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return nil }
            let scheme = components.scheme ?? "https"
            return UrlObject(
                scheme: scheme, host: components.host ?? "", port: components.port ?? (scheme == "http" ? 80 : 443),
                path: components.percentEncodedPath, query: [])
        }

    var hostType: HostType { isOperation ? PolicyContextTypes.operation : PolicyContextTypes.api }

    init(_ identity: PolicyAPIIdentity, isOperation: Bool) {
        self.identity = identity
        self.isOperation = isOperation
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

/// The type of `context.User`, which is always null here.
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
    public var privateKeyDER: [UInt8]? { certificate.privateKeyDER }
    public func verify() -> Bool { verdicts.verify?.isValid ?? false }
    public func verifyNoRevocation() -> Bool { verdicts.verifyNoRevocation?.isValid ?? false }

    public func nameInfo(_ nameType: Int32, forIssuer: Bool) -> String {
        let all = X509NameType.allCases
        guard nameType >= 0, Int(nameType) < all.count else { return "" }
        return certificate.getNameInfo(all[Int(nameType)], forIssuer: forIssuer)
    }
}
