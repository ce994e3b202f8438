import Foundation

/// A load-time problem turning an effective policy into a pipeline (an unsupported policy, an
/// expression that does not compile).
public struct PolicyPipelineError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [PolicyDiagnostic]
    public init(_ diagnostics: [PolicyDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// A runtime error of a policy: what goes into `context.LastError` and, without `on-error`, the
/// status and message of the APIM-style JSON body the client receives.
struct PolicyFailure: Error, Sendable {
    var source: String
    var reason: String
    var message: String
    var status: Int
    var clientMessage: String
    var path: String?
    var policyId: String?
    var scope: PolicyScope?

    static func expression(_ policy: String, _ message: String) -> PolicyFailure {
        PolicyFailure(
            source: policy, reason: "ExpressionValueEvaluationFailure", message: "Expression evaluation failed. \(message)",
            status: 500, clientMessage: "Internal server error")
    }

    static func generic(_ source: String, reason: String, _ message: String) -> PolicyFailure {
        PolicyFailure(source: source, reason: reason, message: message, status: 500, clientMessage: "Internal server error")
    }
}

/// `{"statusCode":N,"message":"…"}` as APIM writes it (the pipeline's errors and the gateway's own).
public enum ErrorBody {
    public static func json(status: Int, message: String, activityId: UUID?) -> [UInt8] {
        var text = "{\"statusCode\":\(status),\"message\":\"\(escape(message))\""
        if let activityId { text += ",\"activityId\":\"\(activityId.uuidString.lowercased())\"" }
        text += "}"
        return Array(text.utf8)
    }

    /// JSON string contents: quotes, backslashes and every control character escaped (DEL, NEL and
    /// the JavaScript line separators too), so no text can end the string, the object or a log line.
    /// The same text is a valid C# regular string literal's contents (Liquid templates use it so).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x85 || scalar.value == 0x2028
                    || scalar.value == 0x2029 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
