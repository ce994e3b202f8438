import Foundation
import Testing

@testable import Policies

final class RecordingMetrics: PolicyMetricsRecording, @unchecked Sendable {
    private let lock = NSLock()
    private var metrics: [PolicyMetric] = []
    var recorded: [PolicyMetric] { lock.withLock { metrics } }
    func record(_ metric: PolicyMetric) { lock.withLock { metrics.append(metric) } }
}

@Suite struct EmitMetricRuntimeTests {
    @Test func emitsNameNamespaceValueAndDimensions() async throws {
        let metrics = RecordingMetrics()
        let xml = document(inbound: """
            <emit-metric name="Request" value="@(context.Request.Headers.GetValueOrDefault("X-Weight", "2.5"))" namespace="my-metrics">
                <dimension name="API ID" />
                <dimension name="Operation ID" />
                <dimension name="Client IP" value="@(context.Request.IpAddress)" />
                <dimension name="User ID" />
            </emit-metric>
            <emit-metric name="Plain"><dimension name="Kind" value="x" /></emit-metric>
            """)
        let (result, _) = try await execute(xml, options: PolicyPipelineOptions(metrics: metrics))
        #expect(result.status == 200)
        #expect(metrics.recorded == [
            PolicyMetric(name: "Request", namespace: "my-metrics", value: 2.5, dimensions: [
                .init(name: "API ID", value: "echo"), .init(name: "Operation ID", value: "get-item"),
                .init(name: "Client IP", value: "10.0.0.5"), .init(name: "User ID", value: ""),
            ]),
            // APIM's defaults: namespace "API Management", value 1.
            PolicyMetric(name: "Plain", namespace: "API Management", value: 1, dimensions: [.init(name: "Kind", value: "x")]),
        ])
    }

    @Test func aValueThatIsNotANumberFailsTheRequest() async throws {
        let metrics = RecordingMetrics()
        let xml = document(inbound: "<emit-metric name=\"m\" value=\"@(context.Request.Method)\"><dimension name=\"API ID\" /></emit-metric>")
        let (result, _) = try await execute(xml, options: PolicyPipelineOptions(metrics: metrics))
        #expect(result.status == 500)
        #expect(result.lastError?.reason == "ExpressionValueEvaluationFailure")
        #expect(metrics.recorded.isEmpty)
    }

    @Test func loadTimeErrors() {
        #expect(Self.errors("<emit-metric name=\"m\" />").contains { $0.contains("at least one '<dimension>'") })
        #expect(Self.errors("<emit-metric name=\"m\"><dimension name=\"Custom\" /></emit-metric>").contains { $0.contains("needs a 'value'") })
        #expect(Self.errors("<emit-metric name=\"m\" value=\"lots\"><dimension name=\"API ID\" /></emit-metric>").contains { $0.contains("must be a number") })
        #expect(Self.errors("<emit-metric name=\"m\"><dimension name=\"Backend ID\" /></emit-metric>").contains { $0.contains("only available in '<outbound>'") })
        let eleven = (0..<11).map { "<dimension name=\"d\($0)\" value=\"v\" />" }.joined()
        #expect(Self.errors("<emit-metric name=\"m\">\(eleven)</emit-metric>").contains { $0.contains("at most 10") })
        #expect(Self.errors("<emit-metric name=\"@(&quot;m&quot;)\"><dimension name=\"API ID\" /></emit-metric>").contains { $0.contains("does not allow policy expressions") })
        // Backend ID is fine in outbound.
        #expect(loadErrors("<emit-metric name=\"m\"><dimension name=\"Backend ID\" /></emit-metric>", section: .outbound).isEmpty)
    }

    static func errors(_ statement: String) -> [String] { loadErrors(statement) }
}
