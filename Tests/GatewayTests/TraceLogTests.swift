import Foundation
import Gateway
import NIOConcurrencyHelpers
import NIOPosix
import Testing

/// `traceLog:`: `<trace>` output and `context.Trace(…)` in the gateway's log, filtered by severity
/// per source, escaped, rate-bounded — `drawbridge serve` driven by curl, its stdout read.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl (.ci/run installs it)"))
struct TraceLogTests {
    @Test func traceEntriesReachTheLogFilteredEscapedAndBounded() async throws {
        let executable = try #require(CLITests.executable)
        let pki = try await SharedPKI.shared.pki()
        let echo = try await EchoBackend.start(group: NIOPosix.MultiThreadedEventLoopGroup.singleton)
        let folder = try CLITests.temporaryFolder()
        try """
        <policies><inbound>
          <trace source="audit" severity="information"><message>@("caller says " + context.Request.Headers.GetValueOrDefault("x-note", "-"))</message>
            <metadata name="api" value="@(context.Api.Name)" /></trace>
          <trace source="audit" severity="verbose">dropped: verbose is below the default threshold</trace>
          <trace source="noisy" severity="information">dropped: noisy logs errors only</trace>
          <trace source="noisy" severity="error">kept: an error of noisy</trace>
          <set-variable name="x" value="@{ context.Trace("from an expression"); return 1; }" />
        </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
        """.write(toFile: folder + "/traced.xml", atomically: true, encoding: .utf8)
        try """
        <policies><inbound>
          <trace source="bulk" severity="error">one</trace><trace source="bulk" severity="error">two</trace>
          <trace source="bulk" severity="error">three</trace><trace source="bulk" severity="error">four</trace>
          <trace source="bulk" severity="error">five</trace><trace source="bulk" severity="error">six</trace>
        </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
        """.write(toFile: folder + "/bulk.xml", atomically: true, encoding: .utf8)
        try """
        listen: { port: 0 }
        accessLog: json
        operations: { enabled: false }
        traceLog: { severity: information, sources: { noisy: error }, perSecond: 4 }
        defaultHostname: localhost
        hostnames:
          - { name: localhost, certificate: \(pki.serverCertificate), key: \(pki.serverKey) }
        apis:
          - { name: traced, path: /traced, backend: "http://127.0.0.1:\(echo.port)", policy: \(folder)/traced.xml }
          - { name: bulk, path: /bulk, backend: "http://127.0.0.1:\(echo.port)", policy: \(folder)/bulk.xml }
        """.write(toFile: folder + "/gateway.yaml", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--config", folder + "/gateway.yaml"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let output = NIOLockedValueBox("")
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            output.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var port: Int?
        for _ in 0..<300 where port == nil {
            let listening = output.withLockedValue { $0 }.split(separator: "\n").first { $0.hasSuffix("[Gateway] listening") }
            port = listening.flatMap { $0.split(separator: " ").first { $0.hasPrefix("port=") } }.flatMap { Int($0.dropFirst(5)) }
            if port == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let gatewayPort = try #require(port, "\(output.withLockedValue { $0 })")
        let base = ["--cacert", pki.rootCA, "--resolve", "localhost:\(gatewayPort):127.0.0.1"]
        // A header value that tries to forge a second log line and drive a terminal.
        let traced = try await Curl.run(base + ["-H", "x-note: hi\u{1b}[31m\" level=error forged=1", "https://localhost:\(gatewayPort)/traced/x"])
        #expect(traced.httpCode == 200, "\(traced.stderr)")
        try await Task.sleep(for: .milliseconds(1100))  // a fresh second for the rate bound
        #expect(try await Curl.run(base + ["https://localhost:\(gatewayPort)/bulk/x"]).httpCode == 200)
        try await Task.sleep(for: .milliseconds(300))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        out.fileHandleForReading.readabilityHandler = nil
        await echo.stop()

        let lines = output.withLockedValue { $0 }.split(separator: "\n").map(String.init)
        let traces = lines.filter { $0.hasSuffix("[Gateway] trace") }
        let requestIds = lines.filter { $0.hasPrefix("{") }.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["request_id"] as? String
        }
        let audit = traces.filter { $0.contains("source=audit") }
        #expect(audit.count == 1, "\(traces)")
        let line = audit.first ?? ""
        #expect(line.contains(" info ") && line.contains("severity=information") && line.contains("api=traced"), "\(line)")
        // (The ESC byte does not survive the HTTP layer; the quote reaches the policy and is escaped.)
        #expect(line.contains("message=caller says hi") && line.contains(#"[31m\x22 level=error forged=1 {api=traced}"#), "\(line)")
        #expect(!line.contains("\u{1b}"))
        #expect(requestIds.count == 2 && line.contains("request_id=\(requestIds.first ?? "?")"), "\(requestIds) \(line)")
        #expect(!traces.contains { $0.contains("dropped:") })
        let noisy = traces.filter { $0.contains("source=noisy") }
        #expect(noisy.count == 1 && noisy.first?.contains(" error ") == true && noisy.first?.contains("message=kept: an error of noisy") == true)
        let expression = traces.filter { $0.contains("source=context.Trace") }
        #expect(expression.count == 1 && expression.first?.contains("message=from an expression") == true, "\(traces)")
        // Six entries in one request, at most four a second: the rest are suppressed.
        let bulk = traces.filter { $0.contains("source=bulk") }
        #expect(bulk.count >= 4 && bulk.count < 6, "\(bulk)")
    }
}
