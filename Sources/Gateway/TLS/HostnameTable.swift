/// Finds the hostname configuration for a server name: exact names first, then `*.example.com`
/// wildcards covering exactly one label. Built once per configuration snapshot.
public struct HostnameTable: Sendable {
    private let exact: [String: TLSHostname]
    private let wildcards: [String: TLSHostname]   // keyed by the suffix after "*."
    public let defaultHostname: TLSHostname?
    public let all: [TLSHostname]

    public init(hostnames: [TLSHostname], defaultName: String?) {
        var exact: [String: TLSHostname] = [:]
        var wildcards: [String: TLSHostname] = [:]
        for hostname in hostnames {
            if hostname.config.isWildcard {
                wildcards[String(hostname.name.dropFirst(2))] = hostname
            } else {
                exact[hostname.name] = hostname
            }
        }
        self.exact = exact
        self.wildcards = wildcards
        self.all = hostnames
        self.defaultHostname = defaultName.flatMap { exact[$0] }
    }

    /// The hostname configuration serving `serverName` (case-insensitive, trailing dot ignored).
    public func lookup(_ serverName: String) -> TLSHostname? {
        var name = serverName.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if let match = exact[name] { return match }
        guard let dot = name.firstIndex(of: ".") else { return nil }
        let firstLabel = name[..<dot]
        guard !firstLabel.isEmpty else { return nil }
        return wildcards[String(name[name.index(after: dot)...])]
    }
}
