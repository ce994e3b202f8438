import Foundation
import Testing

@testable import Policies

final class RecordingEventLogger: PolicyEventLogger, @unchecked Sendable {
    private let lock = NSLock()
    private var events: [PolicyLogEvent] = []
    var logged: [PolicyLogEvent] { lock.withLock { events } }
    func log(_ event: PolicyLogEvent) { lock.withLock { events.append(event) } }
}

@Suite struct LogToEventHubRuntimeTests {
    static func options(_ loggers: [String: any PolicyEventLogger]) -> PolicyPipelineOptions {
        PolicyPipelineOptions(tracing: true, loggers: loggers)
    }

    @Test func theMessageExpressionIsEvaluatedInTheRequestAndHandedToTheLogger() async throws {
        let logger = RecordingEventLogger()
        let xml = document(
            inbound: """
                <log-to-eventhub logger-id="contoso-logger">
                  @( string.Join(",", context.Request.Method, context.Request.IpAddress, context.Operation.Name) )
                </log-to-eventhub>
                """,
            outbound: #"<log-to-eventhub logger-id="contoso-logger" partition-key="@(context.Request.IpAddress)">@{ return new JObject(new JProperty("status", context.Response.StatusCode)).ToString(Newtonsoft.Json.Formatting.None); }</log-to-eventhub>"#)
        let (result, _) = try await execute(xml, options: Self.options(["contoso-logger": logger]))
        #expect(result.status == 200)
        let events = logger.logged
        #expect(events.count == 2)
        #expect(events.first?.message == "GET,10.0.0.5,Get item")
        #expect(events.first?.partitionKey == nil)
        #expect(events.first?.partitionID == nil)
        #expect(events.first?.truncated == false)
        #expect(events.last?.message == #"{"status":200}"#)
        #expect(events.last?.partitionKey == "10.0.0.5")
        // Both carry the request's context.RequestId.
        #expect(events.first?.requestID.isEmpty == false)
        #expect(events.first?.requestID == events.last?.requestID)
    }

    @Test func literalTextAndAPartitionIndex() async throws {
        let logger = RecordingEventLogger()
        let xml = document(inbound: #"<log-to-eventhub logger-id="a" partition-id="3">  plain text message  </log-to-eventhub>"#)
        let (result, _) = try await execute(xml, options: Self.options(["a": logger]))
        #expect(result.status == 200)
        #expect(logger.logged.map(\.message) == ["plain text message"])
        #expect(logger.logged.first?.partitionID == 3)
    }

    @Test func aMessageOver200KBIsTruncatedTo200KBOnACharacterBoundary() async throws {
        let logger = RecordingEventLogger()
        // "é" is two UTF-8 bytes: 102,401 of them are 204,802 bytes; the cut must not split one.
        let xml = document(inbound: #"<log-to-eventhub logger-id="a">@(new string('é', 102401))</log-to-eventhub><log-to-eventhub logger-id="a">@(new string('x', 204800))</log-to-eventhub>"#)
        let (result, _) = try await execute(xml, options: Self.options(["a": logger]))
        #expect(result.status == 200)
        let events = logger.logged
        #expect(events.count == 2)
        #expect(events[0].truncated)
        #expect(events[0].message.utf8.count == 204_800)
        #expect(events[0].message.allSatisfy { $0 == "é" })
        // Exactly 200 KB is not cut.
        #expect(!events[1].truncated)
        #expect(events[1].message.utf8.count == 204_800)
        #expect(LogToEventHubPolicy.truncated("aé", toBytes: 2) == ("a", true))
        #expect(LogToEventHubPolicy.truncated("abc", toBytes: 3) == ("abc", false))
    }

    @Test func anUnknownLoggerIsALoadErrorNamingIt() throws {
        let xml = document(inbound: #"<log-to-eventhub logger-id="missing">x</log-to-eventhub>"#)
        #expect(throws: PolicyPipelineError.self) { _ = try pipeline(xml, options: Self.options(["audit": RecordingEventLogger()])) }
        do {
            _ = try pipeline(xml, options: Self.options(["audit": RecordingEventLogger(), "ops": RecordingEventLogger()]))
        } catch {
            #expect("\(error)".contains("test.xml:1:20: logger 'missing' of '<log-to-eventhub>' does not exist; configured: audit, ops"), "\(error)")
        }
        do {
            _ = try pipeline(xml, options: Self.options([:]))
        } catch {
            #expect("\(error)".contains("logger 'missing' of '<log-to-eventhub>' does not exist (no loggers are configured: policies.loggers)"), "\(error)")
        }
    }

    @Test func attributeErrorsAtLoad() {
        #expect(loadErrors(#"<log-to-eventhub>x</log-to-eventhub>"#).contains { $0.contains("requires the attribute 'logger-id'") })
        #expect(loadErrors(#"<log-to-eventhub logger-id="@(&quot;a&quot;)">x</log-to-eventhub>"#)
            .contains { $0.contains("the attribute 'logger-id' of '<log-to-eventhub>' does not allow policy expressions") })
        #expect(loadErrors(#"<log-to-eventhub logger-id="a" partition-id="@(1)">x</log-to-eventhub>"#)
            .contains { $0.contains("the attribute 'partition-id' of '<log-to-eventhub>' does not allow policy expressions") })
        #expect(loadErrors(#"<log-to-eventhub logger-id="a" partition-id="-1">x</log-to-eventhub>"#)
            .contains { $0.contains("invalid value '-1' for attribute 'partition-id'") })
        #expect(loadErrors(#"<log-to-eventhub logger-id="a" partition-id="1" partition-key="k">x</log-to-eventhub>"#)
            .contains { $0.contains("takes 'partition-id' or 'partition-key', not both") })
        #expect(loadErrors(#"<log-to-eventhub logger-id="a" />"#).contains { $0.contains("needs the message as its text") })
        #expect(loadErrors(#"<log-to-eventhub logger-id="a" partition="1">x</log-to-eventhub>"#).contains { $0.contains("unknown attribute 'partition'") })
        // Every section takes it.
        for section in PolicySection.allCases {
            #expect(loadErrors(#"<log-to-eventhub logger-id="a" partition-key="@(context.RequestId.ToString())">@(context.RequestId.ToString())</log-to-eventhub>"#,
                               section: section).isEmpty, "\(section)")
        }
    }

    @Test func aFailingExpressionFailsThePolicyAndLogsNothing() async throws {
        let logger = RecordingEventLogger()
        let xml = document(inbound: #"<log-to-eventhub logger-id="a">@(int.Parse(context.Request.Method).ToString())</log-to-eventhub>"#)
        let (result, _) = try await execute(xml, options: Self.options(["a": logger]))
        #expect(result.status == 500)
        #expect(result.lastError?.source == "log-to-eventhub")
        #expect(logger.logged.isEmpty)
    }

    @Test func itRunsOnTheSynchronousPath() throws {
        let xml = document(inbound: #"<log-to-eventhub logger-id="a">@(context.Request.Method)</log-to-eventhub>"#)
        let made = try pipeline(xml, options: Self.options(["a": RecordingEventLogger()]))
        #expect(made.inboundRunsSynchronously)
    }
}
