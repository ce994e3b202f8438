/// What an expression is compiled against: the host type of `context` and the host types that
/// expressions may name in casts and patterns (`(IResponse)context.Variables["r"]`).
public struct TypeModel: Sendable {
    public let contextType: HostType
    public let namedTypes: [String: HostType]
    /// Backs `new X509Certificate2(byte[])` (policies rebuild a certificate stored as bytes in a variable).
    /// `new X509Certificate2(rawData)` and `new X509Certificate2(rawData, password)` (DER, PEM or PKCS#12,
    /// with its private key): the embedding application's certificate loader.
    public let certificateFactory: (@Sendable ([UInt8], String?) throws -> any X509Certificate2Object)?

    public init(contextType: HostType, namedTypes: [HostType] = [],
                certificateFactory: (@Sendable ([UInt8], String?) throws -> any X509Certificate2Object)? = nil) {
        self.contextType = contextType
        self.certificateFactory = certificateFactory
        var named: [String: HostType] = [:]
        for type in LibraryTypes.all + namedTypes { named[type.name] = type }
        self.namedTypes = named
    }
}

/// Resolution of type names written in source.
enum TypeNames {
    /// Namespaces implicitly imported by APIM (all allowed types are usable unqualified).
    static let namespaces = [
        "System.", "System.Text.RegularExpressions.", "System.Text.", "System.Linq.", "System.Collections.Generic.",
        "System.Collections.", "Newtonsoft.Json.Linq.", "Newtonsoft.Json.", "System.Security.Cryptography.X509Certificates.",
        "System.Security.Cryptography.", "System.Net.", "System.Xml.Linq.", "System.Xml.", "System.IO.",
    ]

    /// Hash and HMAC classes, all bound to the `HashAlgorithm` host type.
    static let hashAlgorithms: Set<String> = [
        "HMAC", "KeyedHashAlgorithm", "HMACMD5", "HMACSHA1", "HMACSHA256", "HMACSHA384", "HMACSHA512", "MD5", "SHA1", "SHA256", "SHA384", "SHA512",
    ]

    static func strip(_ name: String) -> String {
        for prefix in namespaces where name.hasPrefix(prefix) {
            let rest = String(name.dropFirst(prefix.count))
            if !rest.contains(".") { return rest }
        }
        return name
    }

    static let predefined: [String: ExpressionType] = [
        "string": .string, "String": .string, "int": .int, "Int32": .int, "long": .long, "Int64": .long,
        "double": .double, "Double": .double, "float": .float, "Single": .float, "decimal": .decimal, "Decimal": .decimal,
        "bool": .bool, "Boolean": .bool, "char": .char, "Char": .char, "byte": .byte, "Byte": .byte, "object": .object,
        "Object": .object, "short": .short, "Int16": .short, "uint": .uint, "UInt32": .uint, "ulong": .ulong, "UInt64": .ulong,
        "sbyte": .short, "SByte": .short, "ushort": .int, "UInt16": .int,
        "DateTime": .dateTime, "DateTimeOffset": .dateTimeOffset, "TimeSpan": .timeSpan, "Guid": .guid,
        "JToken": .json(.token), "JObject": .json(.object), "JArray": .json(.array), "JValue": .json(.value),
        "JProperty": .json(.property), "JContainer": .json(.token), "Type": .type, "void": .void,
    ]

    /// Static classes usable as the receiver of static calls (`Math.Max`, `Convert.ToBase64String`).
    static let staticClasses: Set<String> = [
        "Math", "Convert", "Encoding", "Regex", "JsonConvert", "BitConverter", "Uri", "WebUtility", "Enumerable",
        "SHA1", "SHA256", "SHA384", "SHA512", "MD5", "Array", "Tuple", "String", "Int32", "Int64", "Double", "Boolean",
        "Decimal", "Char", "Byte", "Guid", "DateTime", "DateTimeOffset", "TimeSpan", "JObject", "JArray", "JToken",
        "JValue", "Single", "StringComparer", "Environment", "TimeZoneInfo", "RandomNumberGenerator",
        "Int16", "UInt32", "UInt64", "Object", "Nullable", "IPAddress", "XDocument", "XElement", "XmlReader", "XNode",
    ]

    /// Canonical static-class name for a type keyword or alias (`string` → `String`).
    static func canonicalStatic(_ name: String) -> String? {
        let aliases = ["string": "String", "int": "Int32", "long": "Int64", "double": "Double", "bool": "Boolean",
                       "decimal": "Decimal", "char": "Char", "byte": "Byte", "float": "Single", "object": "Object",
                       "short": "Int16", "uint": "UInt32", "ulong": "UInt64"]
        let stripped = strip(name)
        if let alias = aliases[stripped] { return alias }
        return staticClasses.contains(stripped) ? stripped : nil
    }
}
