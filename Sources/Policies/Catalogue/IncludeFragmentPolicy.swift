/// `<include-fragment fragment-id="name"/>`: replaced by the fragment's statements before the
/// document is validated (see `FragmentInliner`), so it never reaches the pipeline.
enum IncludeFragmentPolicy: PolicyDefinition {
    static let schema = PolicySchema(
        "include-fragment",
        attributes: [PolicyAttributeSpec("fragment-id", .nonEmptyText, required: true, expressions: false)])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        reader.error("'<include-fragment>' was not inlined: load the document through PolicyLoader with its fragments")
        return nil
    }
}
