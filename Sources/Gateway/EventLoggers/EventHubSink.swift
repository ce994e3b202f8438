import Foundation
import GatewayConfiguration
import Logging
import NIOCore
import NIOHTTP1
import Policies
import Synchronization

/// How the Event Hubs sink sends one HTTPS request (the gateway's backend client; tests may record).
protocol EventHubTransport: Sendable {
    func post(host: String, port: Int, target: String, headers: [(String, String)], body: [UInt8],
              timeout: Duration) async throws -> (status: Int, body: [UInt8])
}

/// Sends a logger's events to an event hub with the Event Hubs REST API: `POST
/// https://<namespace>/<hub>/messages` (`/<hub>/partitions/<id>/messages` for `partition-id`) in the
/// batch form (`Content-Type: application/vnd.microsoft.servicebus.json`, `[{"Body": …}, …]`), with
/// `PartitionKey` in each event's `BrokerProperties` (and the `BrokerProperties` header, all events
/// of a request sharing the key), authorised by a SAS token made from the shared access key (renewed
/// before it expires). Events are grouped by partition target in their queue order and cut into
/// requests of at most `maximumRequestBytes`. 2xx counts as sent; 408, 429, 5xx and transport
/// failures are retried with exponential backoff (0.5 s doubling, at most 30 s, `maximumAttempts`
/// tries); any other status (401, 403, 404, 413…) fails the request's events at once. Failures are
/// logged with the status and a cut, escaped part of the answer — never the key or the token.
struct EventHubSink: EventLogSink {
    let loggerID: String
    let target: EventHubTarget
    let transport: any EventHubTransport
    let logger: Logger
    var maximumAttempts = 6
    var firstDelay: Duration = .milliseconds(500)
    var maximumDelay: Duration = .seconds(30)
    var requestTimeout: Duration = .seconds(30)
    /// Below Event Hubs' 1 MB batch limit (standard tier), with room for the envelope.
    var maximumRequestBytes = 900_000
    let tokens = SASTokenCache()

    var host: String { String(target.host.split(separator: ":").first ?? "") }
    var port: Int { target.host.split(separator: ":").dropFirst().first.flatMap { Int($0) } ?? 443 }
    /// What the token is signed for: the event hub's URI, lower case (as Microsoft's SDKs sign it).
    var resourceURI: String { "https://\(target.host)/\(target.hub)".lowercased() }

    /// One request's worth of events for one partition target.
    struct Request: Equatable {
        var partitionID: Int?
        var partitionKey: String?
        var bodies: [String]
    }

    /// Event Hubs takes partition keys of at most 128 characters: a longer one is cut (events with
    /// the same first 128 characters still share a partition) rather than having the batch refused.
    static let maximumPartitionKeyCharacters = 128

    /// Groups `events` (in order) by partition target and cuts groups into requests of bounded size.
    static func requests(_ events: [PolicyLogEvent], maximumBytes: Int) -> [Request] {
        var requests: [Request] = []
        var open: [String: (index: Int, bytes: Int)] = [:]
        for original in events {
            var event = original
            if let key = event.partitionKey, key.count > maximumPartitionKeyCharacters {
                event = PolicyLogEvent(message: event.message, partitionID: event.partitionID, partitionKey: String(key.prefix(maximumPartitionKeyCharacters)),
                                       truncated: event.truncated, requestID: event.requestID, time: event.time)
            }
            let key = event.partitionID.map { "i\($0)" } ?? event.partitionKey.map { "k" + $0 } ?? ""
            let item = itemJSON(event)
            if let current = open[key], current.bytes + item.utf8.count + 1 <= maximumBytes {
                requests[current.index].bodies.append(item)
                open[key] = (current.index, current.bytes + item.utf8.count + 1)
            } else {
                requests.append(Request(partitionID: event.partitionID, partitionKey: event.partitionKey, bodies: [item]))
                open[key] = (requests.count - 1, item.utf8.count + 2)
            }
        }
        return requests
    }

    /// `{"Body":"…"}`, with `"BrokerProperties":{"PartitionKey":"…"}` for a partition key.
    static func itemJSON(_ event: PolicyLogEvent) -> String {
        var item = "{\"Body\":\"\(ErrorBody.escape(event.message))\""
        if let key = event.partitionKey { item += ",\"BrokerProperties\":{\"PartitionKey\":\"\(ErrorBody.escape(key))\"}" }
        return item + "}"
    }

    func path(for request: Request) -> String {
        let base = "/" + target.hub + (request.partitionID.map { "/partitions/\($0)" } ?? "")
        return base + "/messages?timeout=60&api-version=2014-01"
    }

    func headers(for request: Request, now: Date = Date()) -> [(String, String)] {
        var headers: [(String, String)] = [
            ("Authorization", tokens.token(resourceURI: resourceURI, keyName: target.keyName, key: target.key, now: now)),
            ("Content-Type", "application/vnd.microsoft.servicebus.json"),
        ]
        if let key = request.partitionKey { headers.append(("BrokerProperties", "{\"PartitionKey\":\"\(ErrorBody.escape(key))\"}")) }
        return headers
    }

    func deliver(_ events: [PolicyLogEvent]) async -> (sent: Int, failed: Int) {
        var sent = 0
        var failed = 0
        for request in Self.requests(events, maximumBytes: maximumRequestBytes) {
            if await send(request) { sent += request.bodies.count } else { failed += request.bodies.count }
        }
        return (sent, failed)
    }

    /// One request with its retries; true when the event hub took it.
    private func send(_ request: Request) async -> Bool {
        let body = Array(("[" + request.bodies.joined(separator: ",") + "]").utf8)
        var delay = firstDelay
        var attempt = 0
        while true {
            attempt += 1
            let problem: String
            do {
                let answer = try await transport.post(host: host, port: port, target: path(for: request), headers: headers(for: request),
                                                      body: body, timeout: requestTimeout)
                if (200..<300).contains(answer.status) { return true }
                problem = "HTTP status \(answer.status): \(LogText.escape(String(decoding: answer.body.prefix(300), as: UTF8.self), limit: 300))"
                if !(answer.status == 408 || answer.status == 429 || answer.status >= 500) {
                    report(request, problem, attempt: attempt, final: true)
                    return false
                }
            } catch {
                problem = LogText.escape("\(error)", limit: 300)
            }
            if attempt >= maximumAttempts || Task.isCancelled {
                report(request, problem, attempt: attempt, final: true)
                return false
            }
            if attempt == 1 { report(request, problem, attempt: attempt, final: false) }
            do { try await Task.sleep(for: delay) } catch {
                report(request, problem, attempt: attempt, final: true)
                return false
            }
            delay = min(delay * 2, maximumDelay)
        }
    }

    private func report(_ request: Request, _ problem: String, attempt: Int, final: Bool) {
        let metadata: Logger.Metadata = [
            "logger": "\(LogText.escape(loggerID))", "eventHub": "\(LogText.escape(target.description))",
            "events": "\(request.bodies.count)", "attempt": "\(attempt)", "problem": "\(problem)",
        ]
        if final {
            logger.warning("event hub did not take the events; they are given up", metadata: metadata)
        } else {
            logger.info("event hub did not take the events; retrying", metadata: metadata)
        }
    }
}

/// A SAS token per resource, made again when less than five minutes of its hour are left.
final class SASTokenCache: Sendable {
    static let lifetime: Int64 = 3600
    static let renewBefore: Int64 = 300
    private let current = Mutex<(resource: String, token: String, expiry: Int64)?>(nil)

    func token(resourceURI: String, keyName: String, key: String, now: Date) -> String {
        let seconds = Int64(now.timeIntervalSince1970)
        return current.withLock { cached in
            if let cached, cached.resource == resourceURI, cached.expiry - seconds > Self.renewBefore { return cached.token }
            let expiry = seconds + Self.lifetime
            let token = SharedAccessSignature.token(resourceURI: resourceURI, keyName: keyName, key: key, expiry: expiry)
            cached = (resourceURI, token, expiry)
            return token
        }
    }
}

/// The gateway's backend client as the Event Hubs transport (HTTPS; `backend.trustedCAs`, or the
/// system's roots), pooled with every other backend connection to the namespace.
struct ForwarderEventHubTransport: EventHubTransport {
    let forwarder: BackendForwarder
    /// Bytes of an answer read (an error text; a 201 has none).
    static let maximumAnswerBytes = 64 << 10

    func post(host: String, port: Int, target: String, headers: [(String, String)], body: [UInt8],
              timeout: Duration) async throws -> (status: Int, body: [UInt8]) {
        var fields = HTTPHeaders()
        for (name, value) in headers { fields.add(name: name, value: value) }
        let requestBody = BackendRequestBody.bytes(ByteBuffer(bytes: body))
        let hostHeader = port == 443 ? host : "\(host):\(port)"
        let head = BackendForwarder.requestHead(method: "POST", uri: target, headers: fields, hostHeader: hostHeader, body: requestBody,
                                                declaredLength: Int64(body.count))
        let milliseconds = max(1, min(timeout.components.seconds, 3600)) * 1000
        // (Not a client request's backend call: no access-log record sees it.)
        let answer = try await AccessLogRecord.$current.withValue(nil) {
            try await forwarder.exchange(tls: true, host: host, port: port, head: head, body: requestBody,
                                         timeout: .milliseconds(milliseconds))
        }
        let bytes = (try? await answer.body.collect(upTo: Self.maximumAnswerBytes) { EventHubAnswerTooLarge() }) ?? []
        return (Int(answer.head.status.code), bytes)
    }
}

struct EventHubAnswerTooLarge: Error {}
