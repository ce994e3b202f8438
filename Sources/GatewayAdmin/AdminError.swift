/// A refusal of the admin API: HTTP status, a stable code, a message, and details (such as every
/// `check` finding, with line:col) — never a secret.
public struct AdminError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String
    public var details: [String]
    /// The methods of the route, for a 405's `Allow` header.
    public var allow: [String]?

    public init(_ status: Int, _ code: String, _ message: String, details: [String] = [], allow: [String]? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.allow = allow
    }

    public var description: String {
        ([message] + details).joined(separator: "\n")
    }

    static func badRequest(_ message: String) -> AdminError { AdminError(400, "BadRequest", message) }
}
