import Foundation
import Testing

@testable import Policies

/// A backend answering per URL host after a delay, recording the order calls started and ended.
final class DelayedBackend: PolicyBackend, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [String] = []
    let delays: [String: Duration]
    init(_ delays: [String: Duration]) { self.delays = delays }
    var events: [String] { lock.withLock { log } }
    func send(_ request: BackendRequest) async throws -> BackendResponse {
        let host = request.url.host ?? ""
        lock.withLock { log.append("start \(host)") }
        try await Task.sleep(for: delays[host] ?? .zero)
        lock.withLock { log.append("end \(host)") }
        if host == "down.example" { throw PolicyBackendError.connectionFailed("refused") }
        return BackendResponse(status: 200, headers: [], body: BufferedBody("from \(host)"))
    }
}

@Suite struct WaitAndOneWayRuntimeTests {
    static func sideCalls(_ mode: String, _ hosts: [String]) -> String {
        let calls = hosts.enumerated().map { index, host in
            "<send-request mode=\"new\" response-variable-name=\"r\(index)\" timeout=\"10\"><set-url>https://\(host)/x</set-url></send-request>"
        }.joined()
        return """
            <wait for="\(mode)">\(calls)</wait>
            <return-response><set-body>@{
                var parts = new List<string>();
                for (var i = 0; i < 3; i++) {
                    var r = context.Variables.GetValueOrDefault<IResponse>("r" + i);
                    parts.Add(r == null ? "-" : r.Body.As<string>());
                }
                return string.Join("|", parts);
            }</set-body></return-response>
            """
    }

    @Test func waitAllSendsTogetherAndStoresEveryAnswer() async throws {
        let backend = DelayedBackend(["slow.example": .seconds(1), "fast.example": .milliseconds(10)])
        let run = try pipeline(document(inbound: Self.sideCalls("all", ["slow.example", "fast.example", "slow.example"])))
        let answer = await run.run(request(), backend: backend)
        #expect(answer.bodyText == "from slow.example|from fast.example|from slow.example")
        // Sent together: all three started before the first ended (one after the other, each would
        // end before the next started). (No wall-clock bound: parallel tests starve the scheduler.)
        #expect(Array(backend.events.prefix(3)).allSatisfy { $0.hasPrefix("start") }, "\(backend.events)")
    }

    @Test func waitAnyKeepsTheFirstAnswer() async throws {
        let backend = DelayedBackend(["slow.example": .seconds(20), "fast.example": .milliseconds(10)])
        let started = ContinuousClock.now
        let answer = await (try pipeline(document(inbound: Self.sideCalls("any", ["slow.example", "fast.example"])))).run(request(), backend: backend)
        #expect(answer.bodyText == "-|from fast.example|-")
        #expect(ContinuousClock.now - started < .seconds(10))  // the slow call (20 s) was cancelled, not awaited
    }

    /// A backend that ignores cancellation (as a pooled HTTP client may): `any` must not wait for it.
    final class StubbornBackend: PolicyBackend, @unchecked Sendable {
        func send(_ request: BackendRequest) async throws -> BackendResponse {
            if request.url.host == "slow.example" {
                let end = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }  // swallows the cancellation
            }
            return BackendResponse(status: 200, headers: [], body: BufferedBody("from \(request.url.host ?? "")"))
        }
    }

    @Test func waitAnyDoesNotWaitForACallThatIgnoresCancellation() async throws {
        let run = try pipeline(document(inbound: Self.sideCalls("any", ["slow.example", "fast.example"])))
        let started = ContinuousClock.now
        let answer = await run.run(request(), backend: StubbornBackend())
        #expect(answer.bodyText == "-|from fast.example|-")
        #expect(ContinuousClock.now - started < .seconds(10))  // not the 20 s of the stubborn call
    }

    @Test func aFailedCallFailsWaitAllUnlessIgnored() async throws {
        let backend = DelayedBackend([:])
        let answer = await (try pipeline(document(inbound: Self.sideCalls("all", ["fast.example", "down.example"])))).run(request(), backend: backend)
        #expect(answer.status == 500)
        #expect(answer.lastError?.reason == "BackendConnectionFailure")
        #expect(answer.lastError?.path == "wait[1]/send-request[2]")
    }

    @Test func mixedChildrenRunInOrder() async throws {
        let xml = document(inbound: """
            <cache-store-value key="k" value="cached" duration="60" />
            <wait for="all">
                <cache-lookup-value key="k" variable-name="v" />
                <choose><when condition="@(context.Variables.ContainsKey(&quot;v&quot;))"><set-variable name="seen" value="yes" /></when></choose>
            </wait>
            <wait for="any">
                <cache-lookup-value key="k" variable-name="first" />
                <cache-lookup-value key="k" variable-name="second" />
            </wait>
            <return-response><set-body>@((string)context.Variables["seen"] + "," + context.Variables.ContainsKey("first") + "," + context.Variables.ContainsKey("second"))</set-body></return-response>
            """)
        let (result, _) = try await execute(xml, options: PolicyPipelineOptions(cache: InternalPolicyCache()))
        #expect(result.bodyText == "yes,True,False")
    }

    @Test func waitLoadErrors() {
        #expect(loadErrors("<wait><set-header name=\"a\" exists-action=\"override\"><value>b</value></set-header></wait>")
            .contains { $0.contains("'<set-header>' is not allowed in '<wait>'") })
        #expect(loadErrors("<wait for=\"some\"><send-request response-variable-name=\"r\"><set-url>https://a.example</set-url></send-request></wait>")
            .contains { $0.contains("'for'") })
        #expect(loadErrors("<wait />").contains { $0.contains("at least one statement") })
        #expect(loadErrors("<wait><choose /></wait>", section: .onError).contains { $0.contains("not allowed in '<on-error>'") })
    }

    @Test func oneWayRequestsDoNotHoldTheRequest() async throws {
        let backend = DelayedBackend(["log.example": .seconds(3)])
        let xml = document(inbound: """
            <send-one-way-request mode="new">
                <set-url>https://log.example/audit</set-url>
                <set-method>POST</set-method>
                <set-header name="X-Audit" exists-action="override"><value>@(context.Request.Method)</value></set-header>
                <set-body>@("seen " + context.Request.Url.Path)</set-body>
            </send-one-way-request>
            <return-response><set-body>done</set-body></return-response>
            """)
        let started = ContinuousClock.now
        let result = await (try pipeline(xml)).run(request(), backend: backend)
        #expect(result.bodyText == "done")
        #expect(ContinuousClock.now - started < .seconds(2), "the answer did not wait for the 3 s side call")
        // The call still happens.
        for _ in 0..<100 where !backend.events.contains("end log.example") { try await Task.sleep(for: .milliseconds(100)) }
        #expect(backend.events == ["start log.example", "end log.example"])
    }

    @Test func oneWayFailuresAreIgnoredAndSettingsErrorsAreNot() async throws {
        let down = document(inbound: "<send-one-way-request><set-url>https://down.example/</set-url></send-one-way-request>")
        #expect(await (try pipeline(down)).run(request(), backend: DelayedBackend([:])).status == 200)
        let badURL = document(inbound: "<send-one-way-request><set-url>@(\"not a url\")</set-url></send-one-way-request>")
        let failed = await (try pipeline(badURL)).run(request(), backend: DelayedBackend([:]))
        #expect(failed.status == 500)
        #expect(failed.lastError?.source == "send-one-way-request")
        #expect(loadErrors("<send-one-way-request />").contains { $0.contains("requires '<set-url>'") })
        #expect(loadErrors("<send-one-way-request response-variable-name=\"r\"><set-url>https://a.example</set-url></send-one-way-request>")
            .contains { $0.contains("unknown attribute 'response-variable-name'") })
    }
}
