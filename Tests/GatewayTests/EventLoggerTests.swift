import Foundation
import GatewayConfiguration
import Logging
import NIOConcurrencyHelpers
import Policies
import Prometheus
import Testing

@testable import Gateway

/// An Event Hubs transport that records requests and answers from a script (then 201).
final class ScriptedEventHubTransport: EventHubTransport {
    struct Sent: Sendable {
        let host: String
        let port: Int
        let target: String
        let headers: [String: String]
        let body: String
    }

    enum Step: Sendable {
        case status(Int)
        case fail
        case stall(Duration)
    }

    private let state = NIOLockedValueBox<(sent: [Sent], script: [Step])>(([], []))

    init(_ script: [Step] = []) { state.withLockedValue { $0.script = script } }

    var sent: [Sent] { state.withLockedValue { $0.sent } }

    func post(host: String, port: Int, target: String, headers: [(String, String)], body: [UInt8],
              timeout: Duration) async throws -> (status: Int, body: [UInt8]) {
        let step = state.withLockedValue { state -> Step in
            state.sent.append(Sent(host: host, port: port, target: target,
                                   headers: Dictionary(headers, uniquingKeysWith: { $1 }), body: String(decoding: body, as: UTF8.self)))
            return state.script.isEmpty ? .status(201) : state.script.removeFirst()
        }
        switch step {
        case .status(let status): return (status, Array("{\"error\":\"status \(status)\"}".utf8))
        case .fail: throw TestFailure("connection refused")
        case .stall(let duration):
            try await Task.sleep(for: duration)
            return (201, [])
        }
    }
}

@Suite struct EventLoggerTests {
    static let target = EventHubTarget(host: "contoso.servicebus.windows.net", hub: "apim-logs", keyName: "send", key: "c2VjcmV0LWtleQ==")

    static func sink(_ transport: ScriptedEventHubTransport, target: EventHubTarget = target) -> EventHubSink {
        var sink = EventHubSink(loggerID: "contoso", target: target, transport: transport, logger: Logger(label: "test"))
        sink.firstDelay = .milliseconds(10)
        sink.maximumAttempts = 3
        return sink
    }

    @Test func theSASTokenIsMicrosoftsFormat() {
        // Python's urllib.parse.quote(uri, safe='') and hmac/hashlib/base64 give the same token.
        #expect(SharedAccessSignature.token(resourceURI: "https://contoso.servicebus.windows.net/apim-logs", keyName: "send",
                                            key: "c2VjcmV0LWtleQ==", expiry: 1_800_000_000)
            == "SharedAccessSignature sr=https%3A%2F%2Fcontoso.servicebus.windows.net%2Fapim-logs&sig=A%2BBcWSglrAye6bJBLLxcL9xm9RXV8ry7gQtsFG9%2BMo0%3D&se=1800000000&skn=send")
        #expect(SharedAccessSignature.encode("a b/é!~*'()") == "a%20b%2F%C3%A9!~*'()")
    }

    @Test func tokensAreKeptUntilFiveMinutesBeforeTheyExpire() {
        let cache = SASTokenCache()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let first = cache.token(resourceURI: "https://a/h", keyName: "k", key: "s", now: start)
        #expect(first.hasSuffix("&se=1800003600&skn=k"))
        #expect(cache.token(resourceURI: "https://a/h", keyName: "k", key: "s", now: start + 3000) == first)
        #expect(cache.token(resourceURI: "https://a/h", keyName: "k", key: "s", now: start + 3301) != first)
    }

    @Test func eventsAreBatchedPerPartitionTargetWithBrokerProperties() async throws {
        let transport = ScriptedEventHubTransport()
        let sink = Self.sink(transport)
        let events = [
            PolicyLogEvent(message: "one \"quoted\"\n"), PolicyLogEvent(message: "two", partitionKey: "k1"),
            PolicyLogEvent(message: "three"), PolicyLogEvent(message: "four", partitionID: 2), PolicyLogEvent(message: "five", partitionKey: "k1"),
        ]
        let outcome = await sink.deliver(events)
        #expect(outcome == (5, 0))
        let sent = transport.sent
        #expect(sent.map(\.target) == [
            "/apim-logs/messages?timeout=60&api-version=2014-01", "/apim-logs/messages?timeout=60&api-version=2014-01",
            "/apim-logs/partitions/2/messages?timeout=60&api-version=2014-01",
        ])
        #expect(sent.allSatisfy { $0.host == "contoso.servicebus.windows.net" && $0.port == 443 })
        #expect(sent.allSatisfy { $0.headers["Content-Type"] == "application/vnd.microsoft.servicebus.json" })
        #expect(sent.allSatisfy { $0.headers["Authorization"]?.hasPrefix("SharedAccessSignature sr=https%3A%2F%2Fcontoso.servicebus.windows.net%2Fapim-logs&sig=") == true })
        #expect(sent[0].body == #"[{"Body":"one \"quoted\"\n"},{"Body":"three"}]"#)
        #expect(sent[0].headers["BrokerProperties"] == nil)
        #expect(sent[1].body == #"[{"Body":"two","BrokerProperties":{"PartitionKey":"k1"}},{"Body":"five","BrokerProperties":{"PartitionKey":"k1"}}]"#)
        #expect(sent[1].headers["BrokerProperties"] == #"{"PartitionKey":"k1"}"#)
        #expect(sent[2].body == #"[{"Body":"four"}]"#)
        // A batch never exceeds the request size: 3 messages of 400 bytes in 1000-byte requests.
        let big = (0..<3).map { _ in PolicyLogEvent(message: String(repeating: "x", count: 400)) }
        #expect(EventHubSink.requests(big, maximumBytes: 1000).map(\.bodies.count) == [2, 1])
        // Partition keys are cut to Event Hubs' 128 characters.
        let long = EventHubSink.requests([PolicyLogEvent(message: "m", partitionKey: String(repeating: "é", count: 200))], maximumBytes: 1000)
        #expect(long.first?.partitionKey == String(repeating: "é", count: 128))
    }

    @Test func transientFailuresAreRetriedAndRefusalsAreNot() async throws {
        let transport = ScriptedEventHubTransport([.status(503), .fail, .status(201), .status(401)])
        let sink = Self.sink(transport)
        #expect(await sink.deliver([PolicyLogEvent(message: "a")]) == (1, 0))
        #expect(transport.sent.count == 3)
        #expect(await sink.deliver([PolicyLogEvent(message: "b")]) == (0, 1))
        #expect(transport.sent.count == 4)  // 401: given up at once
        let exhausted = ScriptedEventHubTransport([.status(500), .status(500), .status(500), .status(201)])
        #expect(await Self.sink(exhausted).deliver([PolicyLogEvent(message: "c"), PolicyLogEvent(message: "d")]) == (0, 2))
        #expect(exhausted.sent.count == 3)  // maximumAttempts
    }

    @Test func anEndpointWithAPortIsUsedAsGiven() async {
        let transport = ScriptedEventHubTransport()
        let target = EventHubTarget(host: "localhost:8443", hub: "Hub", keyName: "k", key: "s")
        _ = await Self.sink(transport, target: target).deliver([PolicyLogEvent(message: "x")])
        #expect(transport.sent.first?.host == "localhost")
        #expect(transport.sent.first?.port == 8443)
        #expect(transport.sent.first?.target.hasPrefix("/Hub/messages") == true)
        #expect(transport.sent.first?.headers["Authorization"]?.contains("sr=https%3A%2F%2Flocalhost%3A8443%2Fhub&") == true)
    }

    @Test func theQueueIsBoundedDropOldestOrNewest() async {
        let oldest = BoundedEventQueue<Int>(capacity: 3, maximumBytes: 1000, dropOldest: true)
        for i in 1...5 { _ = oldest.offer(i, weight: 1) }
        #expect(await oldest.take(maximum: 10) == [3, 4, 5])
        let newest = BoundedEventQueue<Int>(capacity: 3, maximumBytes: 1000, dropOldest: false)
        var refused = 0
        for i in 1...5 where !newest.offer(i, weight: 1).queued { refused += 1 }
        #expect(refused == 2)
        #expect(await newest.take(maximum: 2) == [1, 2])
        #expect(await newest.take(maximum: 2) == [3])
        // Bytes bound too: 3 × 40 bytes in 100 leaves the last two.
        let bytes = BoundedEventQueue<Int>(capacity: 100, maximumBytes: 100, dropOldest: true)
        #expect(bytes.offer(1, weight: 40) == .init(queued: true, dropped: 0))
        #expect(bytes.offer(2, weight: 40) == .init(queued: true, dropped: 0))
        #expect(bytes.offer(3, weight: 40) == .init(queued: true, dropped: 1))
        #expect(bytes.offer(4, weight: 101) == .init(queued: false, dropped: 1))
        #expect(await bytes.take(maximum: 10) == [2, 3])
        // A waiting taker wakes on an offer; a closed queue hands out the rest, then nothing.
        let waiting = BoundedEventQueue<Int>(capacity: 10, maximumBytes: 1000, dropOldest: true)
        async let taken = waiting.take(maximum: 5)
        try? await Task.sleep(for: .milliseconds(20))
        _ = waiting.offer(7, weight: 1)
        #expect(await taken == [7])
        _ = waiting.offer(8, weight: 1)
        waiting.close()
        #expect(waiting.offer(9, weight: 1).queued == false)
        #expect(await waiting.take(maximum: 5) == [8])
        #expect(await waiting.take(maximum: 5) == [])
    }

    @Test func aRunningLoggerCountsSentDroppedAndFailedAndDrainsAtStop() async throws {
        let transport = ScriptedEventHubTransport([.stall(.milliseconds(200))])
        var config = LoggerConfig(id: "contoso", sink: .eventHub(Self.target))
        config.queueSize = 2
        config.batchSize = 1
        let registry = PrometheusCollectorRegistry()
        let logger = RunningEventLogger(config: config, sink: Self.sink(transport), factory: PrometheusMetricsFactory(registry: registry))
        logger.start()
        let started = ContinuousClock.now
        for i in 0..<6 { logger.log(PolicyLogEvent(message: "m\(i)")) }
        #expect(ContinuousClock.now - started < .milliseconds(50))  // never waits for the sink
        await logger.stop(deadline: .now + .seconds(5))
        let counts = logger.statistics
        #expect(counts.sent + counts.dropped == 6, "\(counts)")
        #expect(counts.dropped >= 3, "\(counts)")
        #expect(counts.failed == 0)
        var text = [UInt8]()
        registry.emit(into: &text)
        #expect(String(decoding: text, as: UTF8.self).contains(#"drawbridge_logger_events_total{logger="contoso",result="sent"} \#(counts.sent)"#),
                "\(String(decoding: text, as: UTF8.self))")
    }

    @Test func stopGivesUpWhatIsLeftAtTheDeadline() async throws {
        let transport = ScriptedEventHubTransport([.stall(.seconds(30))])
        let logger = RunningEventLogger(config: LoggerConfig(id: "slow", sink: .eventHub(Self.target)), sink: Self.sink(transport),
                                        factory: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()))
        logger.start()
        logger.log(PolicyLogEvent(message: "in flight"))
        try await Task.sleep(for: .milliseconds(50))
        logger.log(PolicyLogEvent(message: "queued"))
        let started = ContinuousClock.now
        await logger.stop(deadline: .now + .milliseconds(300))
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(logger.statistics.failed == 1)  // the queued one; the one in flight ends with its request
    }

    @Test func jsonLinesAreEscapedAndAppendedOwnerOnly() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try JSONLinesSink(path: path, loggerID: "audit", logger: Logger(label: "test"))
        let time = Date(timeIntervalSince1970: 1_800_000_000)
        let outcome = await sink.deliver([
            PolicyLogEvent(message: "line\n{\"forged\":true}\u{1b}[31m", partitionKey: "k\"", requestID: "r1", time: time),
            PolicyLogEvent(message: "two", partitionID: 1, truncated: true, requestID: "r2", time: time),
        ])
        sink.close()
        #expect(outcome == (2, 0))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0] == #"{"time":"2027-01-15T08:00:00.000Z","logger":"audit","requestId":"r1","partitionId":null,"partitionKey":"k\"","truncated":false,"message":"line\n{\"forged\":true}\u001b[31m"}"#)
        #expect(lines[1].hasSuffix(#""partitionId":1,"partitionKey":null,"truncated":true,"message":"two"}"#))
        for line in lines { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil) }
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func aReloadKeepsAnUnchangedLoggerAndRetiresAChangedOne() async throws {
        let transport = ScriptedEventHubTransport()
        let registry = GatewayEventLoggers(transport: transport, factory: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()),
                                           logger: Logger(label: "test"))
        let config = LoggerConfig(id: "a", sink: .eventHub(Self.target))
        registry.commit(try registry.prepare(["a": config]))
        let first = try #require(registry.logger("a"))
        #expect(try registry.prepare(["a": config])["a"] === first)
        var changed = config
        changed.batchSize = 5
        registry.commit(try registry.prepare(["a": changed]), drainFor: .seconds(1))
        let second = try #require(registry.logger("a"))
        #expect(second !== first)
        second.log(PolicyLogEvent(message: "new"))
        for _ in 0..<100 where transport.sent.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(transport.sent.first?.body == #"[{"Body":"new"}]"#)
        // The retired one takes no more events (an old snapshot's policy still holding it): dropped, counted.
        for _ in 0..<100 where first.queue.offer(PolicyLogEvent(message: "probe"), weight: 1).queued { try await Task.sleep(for: .milliseconds(10)) }
        first.log(PolicyLogEvent(message: "late"))
        #expect(first.statistics.dropped >= 1)
        // Removed from the configuration: stopped; shutdown stops the rest.
        registry.commit(try registry.prepare([:]), drainFor: .seconds(1))
        #expect(registry.logger("a") == nil)
        await registry.shutdown(deadline: .now + .seconds(1))
        #expect(second.statistics.sent == 1)
    }
}
