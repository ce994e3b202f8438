// The Policies library: APIM policy documents, from text to validated, compiled statements.
//
//     let loader = PolicyLoader(
//         options: PolicyLoadOptions(namedValues: NamedValues([.secret("api-key", key)])),
//         compiler: expressionCompiler)                       // any PolicyExpressionCompiling
//     let fragments = try loader.fragments([.init(id: "auth", file: "auth.xml", text: authXML)])
//     let (policy, warnings) = try loader.effective([
//         .init(scope: .global, file: "global.xml", text: globalXML),
//         .init(scope: .api, file: "orders.xml", text: apiXML),
//     ], fragments: fragments)
//     for statement in policy.statements(in: .inbound) { … statement.policy, .path, .id, .scope … }
//     print(policy.xml(redacting: loader.options.namedValues))   // `drawbridge policy effective`
//
// `PolicyCheck.check(paths:loader:)` is the core of `drawbridge policy check`: every problem of
// every file as `file:line:col: message`. Errors are thrown as `PolicyLoadError` (all diagnostics).
//
// Layers: Reading/ (named values, the tolerant XML reader, the C# expression scanner),
// Model/ (sections, scopes, documents, fragments, the effective policy and its printer),
// Catalogue/ (one file per policy: schema + typed configuration), Loading/ (the loader, the
// expression seam, policy check).

/// The policies Drawbridge understands, for documentation and tooling (`drawbridge policy list`).
public enum PolicyCatalogueInfo {
    /// Every supported policy element's declaration, by element name.
    public static var schemas: [PolicySchema] {
        PolicyCatalogue.definitions.map { $0.schema }.sorted { $0.elementName < $1.elementName }
    }

    /// APIM policies Drawbridge recognises but does not implement (skippable with
    /// `PolicyLoadOptions.skipUnsupportedPolicies`).
    public static var unsupported: [String] { PolicyCatalogue.knownUnsupported.sorted() }
}
