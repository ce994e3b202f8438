/// .NET's `X509NameType`, for `GetNameInfo(X509NameType, bool forIssuer)`.
public enum X509NameType: String, Sendable, CaseIterable {
    case simpleName = "SimpleName"
    case emailName = "EmailName"
    case upnName = "UpnName"
    case dnsName = "DnsName"
    case dnsFromAlternativeName = "DnsFromAlternativeName"
    case urlName = "UrlName"
}
