import Foundation
import Testing

@testable import Policies

/// Compatibility with the policies APIM users share (`Azure/api-management-policy-snippets`,
/// `examples/*.xml`). The collection is not part of this repository: point
/// `DRAWBRIDGE_SNIPPETS_DIR` at a checkout's `examples` folder to run this measurement.
@Suite("Public policy snippets")
struct SnippetsCompatibilityTests {
    static let directory = ProcessInfo.processInfo.environment["DRAWBRIDGE_SNIPPETS_DIR"]

    /// Stand-ins for the named values a snippet uses: a URL where the placeholder is a whole value
    /// (most are endpoints), a host-name-like word inside a larger value.
    static func namedValues(for text: String) -> NamedValues {
        var values: [String: NamedValue] = [:]
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            let name = String(rest[open.upperBound..<close.lowerBound])
            if !name.isEmpty, name.utf8.allSatisfy(NamedValue.isNameByte) {
                let before = rest[..<open.lowerBound].last
                let after = rest[close.upperBound...].first
                let whole = (before == "\"" || before == ">") && (after == "\"" || after == "<")
                // A name used anywhere as a whole value is an endpoint.
                if whole || values[name] == nil {
                    values[name] = NamedValue(name: name, value: whole ? "https://named-value.example/\(name)" : "namedvalue")
                }
            }
            rest = rest[close.upperBound...]
        }
        return NamedValues(Array(values.values))
    }

    @Test("every snippet's XML reads but one with broken C#; the rest of policy check is reported", .enabled(if: directory != nil))
    func snippets() throws {
        let directory = try #require(Self.directory)
        // Files of one folder are checked together, so the fragments they include resolve.
        var folders: [String: [String]] = [:]
        let enumerator = try #require(FileManager.default.enumerator(atPath: directory))
        while let relative = enumerator.nextObject() as? String {
            guard relative.hasSuffix(".xml") else { continue }
            folders[(relative as NSString).deletingLastPathComponent, default: []].append(relative)
        }
        var files = 0
        var unreadable: [String] = []
        var rejectedFiles = Set<String>()
        var problems: [String] = []
        var needSkipping = Set<String>()
        var skipped: [String: Int] = [:]
        for (_, names) in folders.sorted(by: { $0.key < $1.key }) {
            let inputs = try names.sorted().map { name in
                PolicyCheck.Input(file: name, text: try String(contentsOfFile: (directory as NSString).appendingPathComponent(name), encoding: .utf8))
            }
            files += inputs.count
            // Snippets use named values we do not have, and APIM policies Drawbridge does not implement.
            let loader = PolicyLoader(
                options: PolicyLoadOptions(
                    namedValues: Self.namedValues(for: inputs.map(\.text).joined(separator: "\n")), skipUnsupportedPolicies: true,
                    allowUnknownNamedValues: true))
            for input in inputs {
                do {
                    _ = try loader.readXML(input.text, file: input.file)
                } catch {
                    unreadable.append(error.description)
                }
            }
            for diagnostic in PolicyCheck.check(inputs, loader: loader) {
                if diagnostic.severity == .warning {
                    needSkipping.insert(diagnostic.position.file)
                    if let name = diagnostic.message.split(separator: "'").dropFirst().first { skipped[String(name), default: 0] += 1 }
                    continue
                }
                rejectedFiles.insert(diagnostic.position.file)
                problems.append(diagnostic.description)
            }
        }
        print("snippets: \(files) files, \(files - unreadable.count) read, \(files - rejectedFiles.count) pass policy check")
        print("without skipUnsupportedPolicies: \(files - rejectedFiles.union(needSkipping).count) pass; skipped: \(skipped.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))")
        for problem in problems { print(problem) }
        #expect(files > 50)
        // As of the mirrored commit (87225c2), 54 of 59 pass. The others hold placeholders the user
        // must fill (`base-url=""`, a URL with `{database-account}`, header names `{MyMetadataName1}`
        // in two files), or the broken C# below.
        #expect(files - rejectedFiles.count >= 54)
        // That snippet's C# is mangled as published: a regular string literal spans lines.
        #expect(unreadable.count == 1)
        #expect(unreadable.first?.hasPrefix("Call out to an HTTP endpoint and cache the response.policy.xml:41:73: unterminated string literal in expression") == true)
    }
}
