import Foundation

/// The core of `drawbridge policy check FILE...`: loads every file and reports every problem as
/// `file:line:col: message`. Files whose root is `<fragment>` are fragments (id = file name without
/// extension) available to the other files, and are checked on their own as well.
public enum PolicyCheck {
    /// A file to check: its name as it should appear in messages, and its text.
    public struct Input: Sendable {
        public let file: String
        public let text: String

        public init(file: String, text: String) {
            self.file = file
            self.text = text
        }
    }

    /// Checks texts already in memory. Returns warnings and errors, in input order. `known`: fragments
    /// available besides the inputs' own (a gateway configuration's).
    public static func check(_ inputs: [Input], loader: PolicyLoader, scope: PolicyScope = .api,
                             known: PolicyFragments = PolicyFragments()) -> [PolicyDiagnostic] {
        // Per input, in input order, so the report reads file by file.
        var found = Array(repeating: [PolicyDiagnostic](), count: inputs.count)
        var documents: [(input: Int, document: PolicyDocument)] = []
        var fragments: [(input: Int, fragment: PolicyFragment)] = []
        for (index, input) in inputs.enumerated() {
            var structural: [PolicyDiagnostic] = []
            // An unknown named value is reported, and the rest of the file is still checked.
            guard let root = loader.readRoot(input.text, file: input.file, diagnostics: &structural) else {
                found[index] += structural.map(loader.redacted)
                continue
            }
            if root.name == "fragment" {
                let id = ((input.file as NSString).lastPathComponent as NSString).deletingPathExtension
                fragments.append((index, PolicyFragment.structure(id: id, file: input.file, root: root, diagnostics: &structural)))
            } else {
                documents.append((index, PolicyDocument.structure(file: input.file, root: root, diagnostics: &structural)))
            }
            found[index] += structural.map(loader.redacted)
        }
        let fragmentSet = PolicyFragments(known.ids.compactMap { known[$0] } + fragments.map(\.fragment))
        for (index, fragment) in fragments {
            found[index] += loader.check(fragment, fragments: fragmentSet)
        }
        for (index, document) in documents {
            do {
                found[index] += try loader.load(document, scope: scope, fragments: fragmentSet).warnings
            } catch {
                found[index] += error.diagnostics
            }
        }
        // A problem inside a fragment shows up again wherever it is included: report it once.
        var seen = Set<PolicyDiagnostic>()
        return found.joined().filter { seen.insert($0).inserted }
    }

    /// Reads the files from disk (an unreadable file is an error at its line 1, column 1) and checks them.
    /// A directory stands for every `.xml` file below it, in name order.
    public static func check(paths: [String], loader: PolicyLoader, scope: PolicyScope = .api,
                             known: PolicyFragments = PolicyFragments()) -> [PolicyDiagnostic] {
        var inputs: [Input] = []
        var unreadable: [PolicyDiagnostic] = []
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                files.append(path)
                continue
            }
            let below = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? [])
                .filter { $0.lowercased().hasSuffix(".xml") }.sorted()
            files += below.map { (path as NSString).appendingPathComponent($0) }
        }
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                unreadable.append(PolicyDiagnostic(at: SourcePosition(file: path, line: 1, column: 1), "cannot read the file"))
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                unreadable.append(PolicyDiagnostic(at: SourcePosition(file: path, line: 1, column: 1), "the file is not valid UTF-8"))
                continue
            }
            inputs.append(Input(file: path, text: text))
        }
        return unreadable + check(inputs, loader: loader, scope: scope, known: known)
    }
}
