import Foundation

/// Host types the library itself defines (objects returned by library calls).
public enum LibraryTypes {
    public static let exception: HostType = HostType(name: "Exception", members: [
        .property("Message", .string, of: ExceptionObject.self) { .string($0.error.message) },
        .method("GetType", [], returns: .type, of: ExceptionObject.self) { e, _ in .type(.host(ExceptionObject.type(named: e.error.exceptionType))) },
    ], toString: { object in
        guard let e = object as? ExceptionObject else { return "System.Exception" }
        return "System.\(e.error.exceptionType): \(e.error.message)"
    })

    static let exceptionNames = [
        "ArgumentException", "ArgumentNullException", "ArgumentOutOfRangeException", "FormatException", "InvalidCastException",
        "InvalidOperationException", "NullReferenceException", "DivideByZeroException", "OverflowException", "KeyNotFoundException",
        "IndexOutOfRangeException", "NotSupportedException", "NotImplementedException", "JsonReaderException", "JsonException",
        "RegexMatchTimeoutException", "UriFormatException", "ArithmeticException", "SystemException", "ApplicationException",
        "TimeoutException", "CryptographicException",
    ]

    /// Specific exception types, each conforming to its .NET base class.
    public static let exceptionTypes: [HostType] = {
        var built: [String: HostType] = ["Exception": exception]
        func make(_ name: String) -> HostType {
            if let existing = built[name] { return existing }
            let base = make(ExceptionObject.parent(of: name))
            let type = HostType(name: name, conformances: [base], members: [], toString: exception.toString)
            built[name] = type
            return type
        }
        return exceptionNames.map(make)
    }()

    public static let jwt: HostType = HostType(name: "Jwt", members: [
        .property("Algorithm", .string, of: JwtObject.self) { $0.header["alg"].map(Value.string) ?? .null },
        .property("Type", .string, of: JwtObject.self) { $0.header["typ"].map(Value.string) ?? .null },
        .property("Id", .string, of: JwtObject.self) { $0.claim("jti") },
        .property("Issuer", .string, of: JwtObject.self) { $0.claim("iss") },
        .property("Subject", .string, of: JwtObject.self) { $0.claim("sub") },
        .property("Audiences", .array(.string), of: JwtObject.self) { jwt in
            .list(ListBox((jwt.claims["aud"] ?? []).map(Value.string)))
        },
        .property("ExpirationTime", .nullable(.dateTime), of: JwtObject.self) { try $0.time("exp") },
        .property("NotBefore", .nullable(.dateTime), of: JwtObject.self) { try $0.time("nbf") },
        .property("IssuedAt", .nullable(.dateTime), of: JwtObject.self) { try $0.time("iat") },
        .property("Claims", .headerDictionary, of: JwtObject.self) { .dictionary($0.claimDictionary) },
    ])

    public static let basicCredentials: HostType = HostType(name: "BasicAuthCredentials", members: [
        .property("UserId", .string, of: BasicCredentialsObject.self) { .string($0.userId) },
        .property("Username", .string, of: BasicCredentialsObject.self) { .string($0.userId) },
        .property("Password", .string, of: BasicCredentialsObject.self) { .string($0.password) },
    ])

    /// All library host types, nameable in casts and declarations.
    public static var all: [HostType] {
        [exception, jwt, basicCredentials, X509Types.certificate, X509Types.distinguishedName, MessageBodyObject.type,
         RegexObjects.regex, RegexObjects.match, RegexObjects.group, RegexObjects.groupCollection, RegexObjects.matchCollection,
         RegexObjects.capture, EncodingObject.type, StringBuilderObject.type, UriObject.type, HashObject.type, RandomObject.type,
         RSAKeyObject.rsa, RSAKeyObject.cng]
            + XmlObjects.all
            + exceptionTypes
    }
}

/// A .NET exception value (`catch (Exception ex)`, `new Exception("...")`).
public final class ExceptionObject: HostObject {
    public let error: ExpressionRuntimeError
    public var hostType: HostType { ExceptionObject.type(named: error.exceptionType) }

    public init(_ error: ExpressionRuntimeError) { self.error = error }

    static func type(named name: String) -> HostType {
        LibraryTypes.exceptionTypes.first { $0.name == name } ?? LibraryTypes.exception
    }

    static func parent(of name: String) -> String {
        switch name {
        case "ArgumentNullException", "ArgumentOutOfRangeException": return "ArgumentException"
        case "DivideByZeroException", "OverflowException": return "ArithmeticException"
        case "JsonReaderException": return "JsonException"
        case "UriFormatException": return "FormatException"
        case "Exception": return "Exception"
        case "ArgumentException", "FormatException", "InvalidCastException", "InvalidOperationException", "NullReferenceException",
             "ArithmeticException", "KeyNotFoundException", "IndexOutOfRangeException", "NotSupportedException", "NotImplementedException",
             "TimeoutException", "CryptographicException":
            return "SystemException"
        default: return "Exception"
        }
    }

    /// `catch (T)` matches the thrown type or any of its bases.
    static func matches(_ thrown: String, catchType: String) -> Bool {
        var current = thrown
        while true {
            if current == catchType { return true }
            if current == "Exception" { return false }
            current = parent(of: current)
        }
    }
}

/// APIM's `Jwt` (parse only, no validation).
public final class JwtObject: HostObject {
    public var hostType: HostType { LibraryTypes.jwt }
    let header: [String: String]
    let claims: [String: [String]]
    let claimDictionary: DictionaryBox

    init(header: [String: String], claims: [String: [String]]) {
        self.header = header
        self.claims = claims
        self.claimDictionary = DictionaryBox(multiValued: claims.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, ignoresCase: false)
    }

    func claim(_ name: String) -> Value { claims[name]?.first.map(Value.string) ?? .null }

    /// A header parameter as text (`alg`, `kid`, `typ`), for `validate-jwt`.
    public func headerValue(_ name: String) -> String? { header[name] }

    /// A claim's values as text (an array claim gives one per item), for `validate-jwt`.
    public func claimValues(_ name: String) -> [String]? { claims[name] }

    /// Parses a compact JWS (`header.payload.signature`) without validating it; nil when malformed.
    public static func parseToken(_ text: String) -> JwtObject? { parse(text) }

    /// A NumericDate claim (`exp`, `nbf`, `iat`) as a UTC `DateTime`; null when absent or not a number.
    /// Like .NET (`Convert.ToInt64(Math.Truncate(...))` then a `DateTime`), a value beyond `long` raises
    /// `OverflowException` and one outside the `DateTime` range raises `ArgumentOutOfRangeException`,
    /// so a hostile token makes the expression fail (on-error) instead of trapping the process.
    func time(_ name: String) throws -> Value {
        guard let text = claims[name]?.first, let seconds = Double(text) else { return .null }
        guard let whole = Int64(exactly: seconds.rounded(.towardZero)) else {
            throw ExpressionRuntimeError.overflow("Value was either too large or too small for an Int64.")
        }
        return .dateTime(try DateTimeValue.fromUnixSeconds(whole, kind: .utc, parameter: name))
    }

    static func base64URL(_ text: Substring) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map { [UInt8]($0) }
    }

    /// Parses `header.payload.signature` (also accepts a `Bearer ` prefix, as APIM does).
    static func parse(_ text: String) -> JwtObject? {
        var token = Substring(text.trimmingCharacters(in: .whitespaces))
        if token.lowercased().hasPrefix("bearer ") { token = token.dropFirst(7).drop { $0 == " " } }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 || parts.count == 5,
              let headerBytes = base64URL(parts[0]), let payloadBytes = base64URL(parts[1]),
              let headerToken = try? JsonReader.parse(String(decoding: headerBytes, as: UTF8.self), parsesDates: false),
              let payloadToken = try? JsonReader.parse(String(decoding: payloadBytes, as: UTF8.self), parsesDates: false),
              case .object(let headerProperties) = headerToken.storage, case .object(let payloadProperties) = payloadToken.storage else {
            return nil
        }
        var header: [String: String] = [:]
        for (key, value) in headerProperties { header[key] = claimText(value) }
        var claims: [String: [String]] = [:]
        for (key, value) in payloadProperties {
            if case .array(let items) = value.storage { claims[key] = items.map(claimText) } else { claims[key] = [claimText(value)] }
        }
        return JwtObject(header: header, claims: claims)
    }

    static func claimText(_ token: JToken) -> String {
        if case .value(let primitive) = token.storage {
            if case .bool(let b) = primitive { return b ? "true" : "false" }
            return JsonWriter.primitiveToString(primitive)
        }
        return JsonWriter.write(token, indented: false)
    }
}

/// APIM's `BasicAuthCredentials` from `AsBasic()`.
public final class BasicCredentialsObject: HostObject {
    public var hostType: HostType { LibraryTypes.basicCredentials }
    let userId: String
    let password: String

    init(userId: String, password: String) {
        self.userId = userId
        self.password = password
    }

    static func parse(_ text: String) -> BasicCredentialsObject? {
        var value = Substring(text.trimmingCharacters(in: .whitespaces))
        if value.lowercased().hasPrefix("basic ") { value = value.dropFirst(6).drop { $0 == " " } }
        guard let data = Data(base64Encoded: String(value)), let decoded = String(data: data, encoding: .utf8),
              let colon = decoded.firstIndex(of: ":") else { return nil }
        return BasicCredentialsObject(userId: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
    }
}
