import Foundation

/// Error text as an operator reads it: without library internals (BoringSSL codes, Swift type
/// names) or build paths. Used by `drawbridge check`, `serve` and reload logs.
public enum PlainErrorText {
    public static func plain(_ error: any Error) -> String {
        plain(String(describing: error))
    }

    public static func plain(_ raw: String) -> String {
        // Most texts carry none of it: no regular expression (ICU, compiled per call) for them.
        guard raw.contains("NIOSSL") || raw.contains("error:") || raw.contains("/.build/") || raw.contains("failedTo") else {
            return raw
        }
        var text = raw
        // NIOSSL/BoringSSL: keep the reason word of each queued error, drop numbers and source paths.
        text = replace(#"(NIOSSL\.)?([A-Za-z]+\.)*[A-Za-z]*\(*\[(Error: \d+ error:[0-9A-Fa-f]+:[^\]]*)\]\)*"#,
                       in: text) { match in
            let reasons = captureAll(#"error:[0-9A-Fa-f]+:[^:\]]*:[^:\]]*:([A-Za-z0-9_]+)"#, in: match)
            return reasons.map { $0.lowercased().replacingOccurrences(of: "_", with: " ") }.joined(separator: "; ")
        }
        let named: [(String, String)] = [
            ("NIOSSL.NIOSSLError.failedToLoadPrivateKey", "not a readable private key (PEM, unencrypted)"),
            ("NIOSSLError.failedToLoadPrivateKey", "not a readable private key (PEM, unencrypted)"),
            ("failedToLoadPrivateKey", "not a readable private key (PEM, unencrypted)"),
            ("NIOSSL.NIOSSLError.failedToLoadCertificate", "not a readable certificate (PEM)"),
            ("failedToLoadCertificate", "not a readable certificate (PEM)"),
            ("NIOSSL.NIOSSLError.failedToOpenFile", "cannot open the file"),
        ]
        for (name, words) in named { text = text.replacingOccurrences(of: name, with: words) }
        // Source and build paths of the libraries (".../.build/checkouts/...:123").
        text = replace(#"( at)? (/[^\s\]\)]*)?/\.build/[^\s\]\)]*"#, in: text) { _ in "" }
        text = replace(#"[\w./-]*/\.build/[^\s\]\)]*"#, in: text) { _ in "" }
        return text
    }

    private static func replace(_ pattern: String, in text: String, with transform: (String) -> String) -> String {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return text }
        let ns = text as NSString
        var result = ""
        var last = 0
        for match in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            result += ns.substring(with: NSRange(location: last, length: match.range.location - last))
            result += transform(ns.substring(with: match.range))
            last = match.range.location + match.range.length
        }
        result += ns.substring(from: last)
        return result
    }

    private static func captureAll(_ pattern: String, in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        let ns = text as NSString
        return regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).compactMap { match in
            match.numberOfRanges > 1 && match.range(at: 1).location != NSNotFound ? ns.substring(with: match.range(at: 1)) : nil
        }
    }
}
