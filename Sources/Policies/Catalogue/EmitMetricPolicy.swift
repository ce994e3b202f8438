import Foundation

/// `<emit-metric name="…" [namespace="API Management"] [value="1"]><dimension name="…" [value="…"]/>…</emit-metric>`:
/// a custom metric through `PolicyPipelineOptions.metrics`. `value` is a double (an expression
/// whose value is not a number fails with `ExpressionValueEvaluationFailure`). At most 10
/// dimensions, at least one; a dimension may omit its value only when it names one of APIM's
/// default dimensions (`API ID`, `Operation ID`, `Product ID`, `User ID`, `Subscription ID`,
/// `Location`, `Gateway ID`, and `Backend ID` in outbound), whose value the gateway supplies (the
/// API and operation names; the others are empty here: Drawbridge has no products, users,
/// subscriptions or regions).
public struct EmitMetricPolicy: Sendable, PolicyDefinition {
    public struct Dimension: Sendable {
        public let name: PolicyParameter<String>
        /// Nil: a default dimension, valued by the gateway.
        public let value: PolicyParameter<String>?
        let defaultDimension: DefaultDimension?
    }

    enum DefaultDimension: String, Sendable, CaseIterable {
        case apiID = "API ID"
        case operationID = "Operation ID"
        case productID = "Product ID"
        case userID = "User ID"
        case subscriptionID = "Subscription ID"
        case location = "Location"
        case gatewayID = "Gateway ID"
        case backendID = "Backend ID"
    }

    public let name: String
    public let namespace: String
    public let value: PolicyParameter<String>
    public let dimensions: [Dimension]

    static let maximumDimensions = 10

    static let schema = PolicySchema(
        "emit-metric",
        attributes: [
            PolicyAttributeSpec("name", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("namespace", .nonEmptyText, default: "API Management", expressions: false),
            PolicyAttributeSpec("value", .text, default: "1", expressionType: .any),
        ],
        children: .elements(["dimension"]))
    static let dimensionSchema = PolicySchema(
        "dimension", attributes: [PolicyAttributeSpec("name", .nonEmptyText, required: true), PolicyAttributeSpec("value", .text)])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        var dimensions: [Dimension] = []
        let readers = reader.children(named: "dimension", dimensionSchema)
        if readers.isEmpty { reader.error("'<emit-metric>' requires at least one '<dimension>'") }
        if readers.count > maximumDimensions {
            reader.error("'<emit-metric>' has \(readers.count) dimensions; at most \(maximumDimensions) are allowed")
        }
        for dimension in readers {
            guard let name = dimension.string("name") else { continue }
            let known: DefaultDimension?
            if case .constant(let literal) = name { known = DefaultDimension(rawValue: literal) } else { known = nil }
            if dimension.element.attribute("value") == nil {
                guard let known else {
                    dimension.error(
                        "'<dimension>' of '<emit-metric>' needs a 'value' unless its name is a default dimension ("
                            + DefaultDimension.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")")
                    continue
                }
                if known == .backendID, reader.section != nil, reader.section != .outbound {
                    dimension.error("the default dimension 'Backend ID' of '<emit-metric>' is only available in '<outbound>'")
                    continue
                }
                dimensions.append(Dimension(name: name, value: nil, defaultDimension: known))
            } else if let value = dimension.string("value") {
                dimensions.append(Dimension(name: name, value: value, defaultDimension: known))
            }
        }
        guard let name = reader.literal("name"), let namespace = reader.literal("namespace"), let value = reader.string("value") else { return nil }
        if case .constant(let literal) = value, Double(ASCII.trimmingWhitespace(literal)) == nil {
            reader.error(attribute: "value", "the 'value' of '<emit-metric>' must be a number (a double)")
            return nil
        }
        return .emitMetric(EmitMetricPolicy(name: name, namespace: namespace, value: value, dimensions: dimensions))
    }
}

// MARK: Run

extension EmitMetricPolicy {
    struct Step: SynchronousPolicyStep {
        struct RuntimeDimension: Sendable {
            let name: RuntimeParameter<String>
            let value: RuntimeParameter<String>?
            let defaultDimension: DefaultDimension?
        }

        let name: String
        let namespace: String
        let value: RuntimeParameter<String>
        let dimensions: [RuntimeDimension]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let number: Double
            switch try execution.value(value, step) {
            case .int(let integer): number = Double(integer)
            case .long(let integer): number = Double(integer)
            case .double(let double): number = double
            case .decimal(let decimal): number = (decimal as NSDecimalNumber).doubleValue
            case let other:
                let text = ValueConversion.string(other)
                guard let parsed = Double(ASCII.trimmingWhitespace(text)) else {
                    throw PolicyFailure.expression(step.name, "'\(text.prefix(64))' is not a valid double value.")
                }
                number = parsed
            }
            guard number.isFinite else { throw PolicyFailure.expression(step.name, "the metric value is not a finite number.") }
            var evaluated: [PolicyMetric.Dimension] = []
            for dimension in dimensions {
                let dimensionName = try execution.string(dimension.name, step)
                let dimensionValue: String
                if let given = dimension.value {
                    dimensionValue = try execution.string(given, step)
                } else {
                    dimensionValue = Self.defaultValue(dimension.defaultDimension, execution.state.identity)
                }
                evaluated.append(PolicyMetric.Dimension(name: dimensionName, value: dimensionValue))
            }
            let metric = PolicyMetric(name: name, namespace: namespace, value: number, dimensions: evaluated)
            if let metrics = execution.options.metrics {
                metrics.record(metric)
            } else {
                execution.state.record(.info, "no metrics recorder: '\(name)' not sent")
            }
            return .proceed
        }

        static func defaultValue(_ dimension: DefaultDimension?, _ identity: PolicyAPIIdentity) -> String {
            switch dimension {
            case .apiID: identity.apiId
            case .operationID: identity.operationId
            default: ""
            }
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        guard let value = compiler.parameter(value) else { return nil }
        var runtime: [Step.RuntimeDimension] = []
        for dimension in dimensions {
            guard let name = compiler.parameter(dimension.name) else { return nil }
            var given: RuntimeParameter<String>? = nil
            if let value = dimension.value {
                guard let made = compiler.parameter(value) else { return nil }
                given = made
            }
            runtime.append(Step.RuntimeDimension(name: name, value: given, defaultDimension: dimension.defaultDimension))
        }
        return Step(name: name, namespace: namespace, value: value, dimensions: runtime)
    }
}
