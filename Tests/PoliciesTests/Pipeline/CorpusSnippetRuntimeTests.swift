import Foundation
import Testing

@testable import Policies

/// Snippets of the real-policy corpus that needed new C# forms, run through the pipeline.
@Suite struct CorpusSnippetRuntimeTests {
    static func pipeline(_ name: String) throws -> PolicyPipeline {
        let text = try String(contentsOf: PolicyCorpusTests.folder.appendingPathComponent(name), encoding: .utf8)
        return try PolicyPipeline.load(
            [(text, name, .api)], loadOptions: PolicyLoadOptions(namedValues: try PolicyCorpusTests.namedValues()),
            options: PolicyPipelineOptions(tracing: true))
    }

    /// Local functions (`HostToNetworkOrder`) and CIDR arithmetic: private ranges pass `check-header`.
    @Test func filterOnIPAddressRunsItsLocalFunctions() async throws {
        let built = try Self.pipeline("Filter on IP Address when using Application Gateway.policy.xml")
        for (address, status) in [("192.168.5.6:4711", 200), ("10.1.2.3", 200), ("172.20.0.1", 200), ("8.8.8.8", 403), ("172.32.0.1", 403)] {
            let result = await built.run(request(headers: [PolicyHeader("X-Forwarded-For", address)]), body: nil, backend: RecordingBackend())
            #expect(result.status == status, "\(address): \(result.bodyText ?? "")")
            if status == 403 { #expect(result.lastError?.source == "check-header") }
        }
    }

    /// `using`, `XmlReader.Create(new StringReader(xml))`, `Read`/`MoveToContent`/`EOF`/`Name` and
    /// `XNode.ReadFrom`: the snippet answers with the nested element's value.
    @Test func extractValueFromXMLReadsWithXmlReader() async throws {
        let built = try Self.pipeline("Extract value from XML.xml")
        let result = await built.run(request(), body: nil, backend: RecordingBackend())
        #expect(result.status == 200)
        #expect(result.bodyText == "ABCDEF123456789")
    }
}
