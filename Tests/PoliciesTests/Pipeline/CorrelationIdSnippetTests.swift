import Foundation
import Testing

@testable import Policies

/// The corpus's "Add correlation id to inbound request" snippet, as published, through the pipeline:
/// a COMB GUID built with `Array.Copy` into a `byte[]` — ten random bytes, then the low six bytes
/// of `DateTime.Now.Ticks` — reaches the backend as the `correlationid` header.
@Suite struct CorrelationIdSnippetTests {
    @Test func theBackendReceivesACombGuid() async throws {
        let file = PolicyCorpusTests.folder.appendingPathComponent("Add correlation id to inbound request.policy.xml")
        let text = try String(contentsOf: file, encoding: .utf8)
        // (With APIM's default global policy, whose backend section forwards.)
        let global = "<policies><inbound /><backend><forward-request /></backend><outbound /><on-error /></policies>"
        let pipeline = try PolicyPipeline.load([(global, "global.xml", .global), (text, file.lastPathComponent, .api)])
        var values: [String] = []
        for _ in 0..<2 {
            let backend = RecordingBackend()
            let result = await pipeline.run(request(), body: nil, backend: backend)
            #expect(result.status == 200, "\(String(describing: result.lastError))")
            let header = try #require(backend.requests.first?.headers.first { $0.name.lowercased() == "correlationid" }?.value)
            values.append(header)
        }
        #expect(values[0] != values[1])
        for value in values {
            let guid = try #require(UUID(uuidString: value), "\(value)")
            // The last group holds bytes 10…15 as written: the ticks' low byte first.
            let bytes = withUnsafeBytes(of: guid.uuid) { Array($0) }
            var ticks: Int64 = 0
            for (index, byte) in bytes[10..<16].enumerated() { ticks |= Int64(byte) << (8 * index) }
            let now = Date()
            let localTicks = Int64((now.timeIntervalSince1970 + Double(TimeZone.current.secondsFromGMT(for: now))) * 10_000_000) + 621_355_968_000_000_000
            let expected = localTicks & 0xFFFF_FFFF_FFFF
            #expect(abs(expected - ticks) < 600_000_000, "\(value): ticks \(ticks), expected about \(expected)")  // within a minute
        }
    }
}
