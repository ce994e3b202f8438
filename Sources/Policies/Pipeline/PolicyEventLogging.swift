import Foundation

/// A logger `log-to-eventhub` writes to (APIM's Logger entity): the gateway's are bounded queues
/// drained by background senders (an event hub, a file, stdout); tests record. `log` hands the event
/// over and returns at once — it never waits for the sink, and a full queue drops (and counts) an
/// event rather than holding the request.
public protocol PolicyEventLogger: Sendable {
    func log(_ event: PolicyLogEvent)
}

/// One `log-to-eventhub` message, as the policy built it.
public struct PolicyLogEvent: Sendable, Equatable {
    /// The message (at most `LogToEventHubPolicy.maximumMessageBytes` UTF-8 bytes: longer ones are cut).
    public let message: String
    /// `partition-id`: the partition the event goes to.
    public let partitionID: Int?
    /// `partition-key`: what Event Hubs hashes to choose the partition.
    public let partitionKey: String?
    /// Whether the message was cut to the limit.
    public let truncated: Bool
    /// `context.RequestId` of the request that logged it.
    public let requestID: String
    public let time: Date

    public init(message: String, partitionID: Int? = nil, partitionKey: String? = nil, truncated: Bool = false,
                requestID: String = "", time: Date = Date()) {
        self.message = message
        self.partitionID = partitionID
        self.partitionKey = partitionKey
        self.truncated = truncated
        self.requestID = requestID
        self.time = time
    }
}
