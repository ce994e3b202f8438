/// The two expression forms of APIM: `@( … )`, one C# expression, and `@{ … }`, a statement block
/// in which every path returns.
public enum PolicyExpressionKind: String, Sendable, Hashable {
    case singleStatement
    case block
}

/// An expression found in a policy file: its C# source (between the `@(`/`@{` and the matching
/// closer, XML entities decoded, named values substituted) and where that source starts in the
/// original file, so compile errors can be reported as `file:line:col`.
public struct PolicyExpressionSource: Sendable, Hashable, CustomStringConvertible {
    public let source: String
    public let kind: PolicyExpressionKind
    /// The position of the first character of `source` in the original file.
    public let position: SourcePosition

    /// Points where the source stops advancing in step with the file (entities, line breaks,
    /// substituted named values): (UTF-8 offset in `source`, offset in the substituted text).
    let anchors: [Anchor]
    let text: SourceText?

    struct Anchor: Sendable, Hashable {
        let sourceOffset: Int
        let textOffset: Int
    }

    init(source: String, kind: PolicyExpressionKind, position: SourcePosition, anchors: [Anchor], text: SourceText?) {
        self.source = source
        self.kind = kind
        self.position = position
        self.anchors = anchors
        self.text = text
    }

    /// An expression not read from a file (tests, programmatic documents).
    public init(source: String, kind: PolicyExpressionKind, position: SourcePosition) {
        self.init(source: source, kind: kind, position: position, anchors: [], text: nil)
    }

    /// Maps a UTF-8 offset inside `source` (as a compiler reports it) to the original file.
    public func position(atSourceOffset offset: Int) -> SourcePosition {
        guard let text, let anchor = anchors.last(where: { $0.sourceOffset <= offset }) else { return position }
        return text.position(anchor.textOffset + (offset - anchor.sourceOffset))
    }

    /// The expression as written in a policy: `@(source)` or `@{source}`.
    public var description: String {
        switch kind {
        case .singleStatement: "@(\(source))"
        case .block: "@{\(source)}"
        }
    }

    public static func == (lhs: PolicyExpressionSource, rhs: PolicyExpressionSource) -> Bool {
        lhs.source == rhs.source && lhs.kind == rhs.kind && lhs.position == rhs.position
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(source)
        hasher.combine(kind)
        hasher.combine(position)
    }
}

/// An attribute value or element text: either plain text, or an expression that is the whole value
/// (APIM evaluates `@(…)` only when it is the entire value; `prefix @(x)` is literal text).
public enum PolicyValue: Sendable, Hashable, CustomStringConvertible {
    case literal(String)
    case expression(PolicyExpressionSource)

    public var literal: String? {
        if case .literal(let text) = self { return text }
        return nil
    }

    public var expression: PolicyExpressionSource? {
        if case .expression(let expression) = self { return expression }
        return nil
    }

    public var description: String {
        switch self {
        case .literal(let text): text
        case .expression(let expression): expression.description
        }
    }
}
