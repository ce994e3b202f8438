import Foundation

/// `<proxy url="http://host:port" username="…" password="…"/>`: the request forwarded to the backend
/// goes through an HTTP forward proxy — `CONNECT host:port` for an https backend (TLS end to end
/// through the tunnel), the absolute-form request target for an http one — with
/// `Proxy-Authorization: Basic …` when a username is given. As in APIM: inbound only, the gateway
/// reaches the proxy over plain HTTP (`http://` only), Basic authentication (no NTLM). A URL that is
/// not `http://host[:port][/]` is refused at load when literal, `ExpressionValueEvaluationFailure`
/// when computed. The same element inside `send-request` / `send-one-way-request` sends that side
/// request through the proxy (`sideRequestProxy`).
public struct ProxyPolicy: Sendable, PolicyDefinition {
    public let url: PolicyParameter<String>
    public let username: PolicyParameter<String>?
    public let password: PolicyParameter<String>?

    static let schema = PolicySchema(
        "proxy", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("url", .nonEmptyText, required: true),
            PolicyAttributeSpec("username", .text),
            PolicyAttributeSpec("password", .text),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        make(reader).map(Policy.proxy)
    }

    static func make(_ reader: PolicyElementReader) -> ProxyPolicy? {
        guard let url = reader.string("url") else { return nil }
        if case .constant(let text) = url, case .failure(let reason) = BackendProxy.parse(text) {
            reader.error(attribute: "url", "invalid 'url' of '<proxy>': \(reason)")
            return nil
        }
        let username = reader.element.attribute("username") == nil ? nil : reader.string("username")
        let password = reader.element.attribute("password") == nil ? nil : reader.string("password")
        if case .constant(let name)? = username, name.contains(":") {
            reader.error(attribute: "username", "the 'username' of '<proxy>' must not contain ':' (RFC 7617)")
            return nil
        }
        return ProxyPolicy(url: url, username: username, password: password)
    }
}

/// The HTTP forward proxy a backend request goes through (`proxy` policy).
public struct BackendProxy: Sendable, Hashable {
    /// Without brackets for an IPv6 literal.
    public let host: String
    public let port: Int
    /// The `Proxy-Authorization` value (`Basic …`), nil without credentials. Never logged.
    public let authorization: String?

    public init(host: String, port: Int, authorization: String? = nil) {
        self.host = host
        self.port = port
        self.authorization = authorization
    }

    enum Parsed {
        case success(host: String, port: Int)
        case failure(String)
    }

    /// `http://host[:port][/]`: the form APIM takes (no https, path, query, fragment or userinfo).
    static func parse(_ text: String) -> Parsed {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            return .failure("'\(text)' is not a URL; expected http://host:port")
        }
        guard scheme == "http" else {
            return .failure("the scheme '\(scheme)' is not supported; the gateway reaches the proxy over http:// only")
        }
        guard let host = components.host, !host.isEmpty else { return .failure("'\(text)' has no host; expected http://host:port") }
        guard components.user == nil, components.password == nil else {
            return .failure("credentials go in 'username' and 'password', not in the URL")
        }
        guard components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil else {
            return .failure("'\(text)' has a path, query or fragment; expected http://host:port")
        }
        let port = components.port ?? 80
        guard (1...65535).contains(port) else { return .failure("the port \(port) is out of range 1-65535") }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return .success(host: bare, port: port)
    }
}

// MARK: Run

extension ProxyPolicy {
    struct Step: SynchronousPolicyStep {
        let url: RuntimeParameter<String>
        let username: RuntimeParameter<String>?
        let password: RuntimeParameter<String>?

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            execution.backendProxy = try resolve(execution, step)
            return .proceed
        }

        /// The proxy this request goes through, its settings evaluated.
        func resolve(_ execution: PolicyExecution, _ step: CompiledStep) throws -> BackendProxy {
            let text = try execution.string(url, step)
            let host: String, port: Int
            switch BackendProxy.parse(text) {
            case .failure(let reason): throw PolicyFailure.expression(step.name, "invalid proxy URL: \(reason)")
            case .success(let parsedHost, let parsedPort): (host, port) = (parsedHost, parsedPort)
            }
            var authorization: String? = nil
            if let username {
                let name = try execution.string(username, step)
                let secret = try password.map { try execution.string($0, step) } ?? ""
                guard !name.contains(":") else {
                    throw PolicyFailure.expression(step.name, "the proxy username contains ':', which Basic credentials cannot carry.")
                }
                if !name.isEmpty { authorization = "Basic " + Data((name + ":" + secret).utf8).base64EncodedString() }
            }
            return BackendProxy(host: host, port: port, authorization: authorization)
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? { compiled(&compiler) }

    func compiled(_ compiler: inout StepCompiler) -> Step? {
        guard let url = compiler.parameter(url) else { return nil }
        var user: RuntimeParameter<String>? = nil, secret: RuntimeParameter<String>? = nil
        if let username {
            guard let made = compiler.parameter(username) else { return nil }
            user = made
        }
        if let password {
            guard let made = compiler.parameter(password) else { return nil }
            secret = made
        }
        return Step(url: url, username: user, password: secret)
    }
}
