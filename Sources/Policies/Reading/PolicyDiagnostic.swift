/// One finding about a policy file, printed as `file:line:col: message` (the format compilers use,
/// so editors and CI logs can jump to it).
public struct PolicyDiagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    public let severity: Severity
    public let position: SourcePosition
    public let message: String

    public init(_ severity: Severity = .error, at position: SourcePosition, _ message: String) {
        self.severity = severity
        self.position = position
        self.message = message
    }

    public var description: String {
        switch severity {
        case .error: "\(position): \(message)"
        case .warning: "\(position): warning: \(message)"
        }
    }
}

/// Loading failed: every error found (not only the first), plus any warnings, in file order.
public struct PolicyLoadError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [PolicyDiagnostic]

    public init(diagnostics: [PolicyDiagnostic]) {
        self.diagnostics = diagnostics
    }

    public var errors: [PolicyDiagnostic] { diagnostics.filter { $0.severity == .error } }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
