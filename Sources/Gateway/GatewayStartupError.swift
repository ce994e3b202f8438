/// Why the gateway cannot start with a configuration: always names the file or hostname at fault.
public enum GatewayStartupError: Error, CustomStringConvertible, Sendable {
    case tls(hostname: String, reason: String)
    case file(path: String, reason: String)
    case route(api: String, reason: String)
    case bind(address: String, port: Int, reason: String)
    case policy(reason: String)

    public var description: String {
        switch self {
        case .tls(let hostname, let reason): return "hostname '\(hostname)': \(reason)"
        case .file(let path, let reason): return "\(path): \(reason)"
        case .route(let api, let reason): return "api '\(api)': \(reason)"
        case .bind(let address, let port, let reason): return "cannot listen on \(address):\(port): \(reason)"
        case .policy(let reason): return "policies: \(reason)"
        }
    }
}
