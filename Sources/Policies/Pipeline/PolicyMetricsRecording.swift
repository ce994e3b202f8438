/// Where `emit-metric` sends its custom metrics: the gateway exports them (Prometheus); tests
/// record them. Without one, `emit-metric` runs (its expressions are evaluated) and sends nothing.
public protocol PolicyMetricsRecording: Sendable {
    func record(_ metric: PolicyMetric)
}

/// One `emit-metric` emission: APIM's name, namespace, value and dimensions (names as written,
/// values as evaluated, in document order).
public struct PolicyMetric: Sendable, Equatable {
    public let name: String
    public let namespace: String
    public let value: Double
    public let dimensions: [Dimension]

    public struct Dimension: Sendable, Equatable {
        public let name: String
        public let value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(name: String, namespace: String, value: Double, dimensions: [Dimension]) {
        self.name = name
        self.namespace = namespace
        self.value = value
        self.dimensions = dimensions
    }
}
