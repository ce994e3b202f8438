import Foundation
import Testing

@testable import Policies

/// Examples of Microsoft's policy reference (`Corpus/azure-docs-policy-reference`), loaded as the corpus test loads
/// them and run through the pipeline: loading is not the only bar, they do what the reference says.
@Suite struct ReferenceExampleRuntimeTests {
    static func pipeline(_ name: String) throws -> PolicyPipeline {
        let loadOptions = try PolicyCorpusTests.referenceLoadOptions()
        let loader = PolicyLoader(options: loadOptions, compiler: ContextExpressionCompiler())
        let fragments = try PolicyCorpusTests.referenceFragments(loader)
        switch try PolicyCorpusTests.referencePipeline(name, loadOptions: loadOptions, loader: loader, fragments: fragments,
                                                       options: PolicyPipelineOptions(tracing: true)) {
        case .success(let pipeline): return pipeline
        case .failure(let failure): throw failure
        }
    }

    static func sentBody(_ sent: [BackendRequest]) -> String? {
        guard case .bytes(let bytes)? = sent.first?.body else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// set-body "Convert JSON to SOAP using a Liquid template": `{{body.getOpenOrders.cust}}` is Liquid output.
    @Test func liquidTemplateTurnsJSONIntoSOAP() async throws {
        let built = try Self.pipeline("set-body-policy.5.xml")
        let backend = RecordingBackend()
        let result = await built.run(request(method: "POST", headers: [PolicyHeader("Content-Type", "application/json")]),
                                     body: BufferedBody(#"{"getOpenOrders":{"cust":"C-42"}}"#), backend: backend)
        #expect(result.status == 200)
        let sent = Self.sentBody(backend.requests) ?? ""
        #expect(sent.contains("<cust>C-42</cust>"), "\(sent)")
        #expect(sent.contains("<soap:Envelope"), "\(sent)")
    }

    /// set-body "Access and return body as URL-encoded form data": the new value is added to the key's values. As
    /// in .NET, the dictionary's indexer throws for a key the form does not have (the example assumes it has one).
    @Test func formDataIsReturnedAsFormData() async throws {
        let built = try Self.pipeline("set-body-policy.8.xml")
        let backend = RecordingBackend()
        let result = await built.run(request(method: "POST"), body: BufferedBody("newKey=old&x=a+b"), backend: backend)
        #expect(result.status == 200)
        #expect(Self.sentBody(backend.requests) == "newKey=old&newKey=newValue&x=a+b")
        let missing = await built.run(request(method: "POST"), body: BufferedBody("x=1"), backend: RecordingBackend())
        #expect(missing.status == 500)
    }

    /// cache-lookup/cache-store "Example using policy expressions" (its two parts placed where its comments say): the
    /// response is kept for the backend's `Cache-Control: max-age`, and served from the cache meanwhile.
    @Test func cacheDurationFollowsTheBackendsMaxAge() async throws {
        let built = try Self.pipeline("cache-lookup-policy.2.xml")
        let backend = RecordingBackend(headers: [PolicyHeader("Content-Type", "text/plain"), PolicyHeader("Cache-Control", "public, max-age=120")],
                                       body: "fresh")
        let path = "/reference/cache/\(UUID().uuidString)"
        let first = await built.run(request(path: path), body: nil, backend: backend)
        let second = await built.run(request(path: path), body: nil, backend: backend)
        #expect(first.status == 200)
        #expect(second.status == 200)
        #expect(second.bodyText == "fresh")
        #expect(backend.requests.count == 1)
    }
}
