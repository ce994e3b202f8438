import Foundation

/// `<ip-filter action="allow|forbid"><address>…</address><address-range from="…" to="…"/></ip-filter>`
/// Addresses and ranges (IPv4 and IPv6) are parsed and checked at load time.
public struct IPFilterPolicy: Sendable, PolicyDefinition {
    public enum Action: String, Sendable, Hashable {
        case allow
        case forbid
    }

    public let action: PolicyParameter<Action>
    public let addresses: [IPAddress]
    public let ranges: [ClosedRange<IPAddress>]

    /// Whether `caller` is one of the listed addresses or inside a listed range (IPv4-mapped IPv6
    /// callers compare as IPv4). What that means, allow or forbid, is `action`'s.
    public func lists(_ caller: IPAddress) -> Bool {
        let caller = caller.unmapped
        return addresses.contains { $0.unmapped == caller } || ranges.contains { range in
            range.lowerBound.isIPv4 == caller.isIPv4 && range.contains(caller)
        }
    }

    static let schema = PolicySchema(
        "ip-filter", sections: [.inbound],
        attributes: [PolicyAttributeSpec("action", .choice(["allow", "forbid"]), required: true)],
        children: .elements(["address", "address-range"]))
    static let addressSchema = PolicySchema("address", allowsText: true)
    static let rangeSchema = PolicySchema(
        "address-range",
        attributes: [
            PolicyAttributeSpec("from", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("to", .nonEmptyText, required: true, expressions: false),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        var addresses: [IPAddress] = []
        var ranges: [ClosedRange<IPAddress>] = []
        var valid = true
        for addressReader in reader.children(named: "address", addressSchema) {
            let position = addressReader.element.textNodes.first?.position ?? addressReader.element.position
            guard case .literal(let text)? = addressReader.element.textValue else {
                reader.context.error(at: position, "'<address>' requires an IP address as literal text")
                valid = false
                continue
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let address = IPAddress(trimmed) else {
                let hint = trimmed.contains("/") ? " (for a block of addresses use '<address-range from=\"…\" to=\"…\"/>')" : ""
                reader.context.error(at: position, "invalid IP address \(addressReader.quoteText(trimmed)) in '<address>'\(hint)")
                valid = false
                continue
            }
            addresses.append(address)
        }
        for rangeReader in reader.children(named: "address-range", rangeSchema) {
            var ends: [IPAddress] = []
            for name in ["from", "to"] {
                guard let text = rangeReader.literal(name) else { continue }
                if let address = IPAddress(text.trimmingCharacters(in: .whitespaces)) {
                    ends.append(address)
                } else {
                    rangeReader.error(attribute: name, "invalid IP address \(rangeReader.quote(text, attribute: name)) in attribute '\(name)' of '<address-range>'")
                    valid = false
                }
            }
            guard ends.count == 2 else { continue }
            guard ends[0].isIPv4 == ends[1].isIPv4 else {
                rangeReader.error("'<address-range>' mixes IPv4 and IPv6 addresses")
                valid = false
                continue
            }
            guard ends[0] <= ends[1] else {
                rangeReader.error(attribute: "from", "'<address-range>' starts after it ends (\(ends[0]) > \(ends[1]))")
                valid = false
                continue
            }
            ranges.append(ends[0]...ends[1])
        }
        if reader.element.childElements.isEmpty {
            reader.error("'<ip-filter>' requires at least one '<address>' or '<address-range>'")
            valid = false
        }
        guard valid, let action = reader.choice("action", as: Action.self) else { return nil }
        return .ipFilter(IPFilterPolicy(action: action, addresses: addresses, ranges: ranges))
    }
}

// MARK: Run

extension IPFilterPolicy {
    struct Step: SynchronousPolicyStep {
        let action: RuntimeParameter<String>
        let policy: IPFilterPolicy

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let actionText = try execution.string(action, step).lowercased()
            guard let action = IPFilterPolicy.Action(rawValue: actionText) else {
                throw PolicyFailure.expression(step.name, "'\(actionText)' is not 'allow' or 'forbid'.")
            }
            let clientIP = execution.state.clientIP
            var text = ASCII.trimmingWhitespace(clientIP)
            if text.hasPrefix("["), let end = text.firstIndex(of: "]") { text = String(text[text.index(after: text.startIndex)..<end]) }
            if let zone = text.firstIndex(of: "%") { text = String(text[..<zone]) }
            guard let caller = IPAddress(text) else {
                throw PolicyFailure(
                    source: step.name, reason: "FailedToParseCallerIP", message: "Failed to parse the caller IP address '\(clientIP)'.",
                    status: 403, clientMessage: "Forbidden")
            }
            let listed = policy.lists(caller)
            if action == .allow, !listed {
                throw PolicyFailure(
                    source: step.name, reason: "CallerIpNotAllowed", message: "Caller IP address \(caller) is not allowed.", status: 403,
                    clientMessage: "Forbidden")
            }
            if action == .forbid, listed {
                throw PolicyFailure(
                    source: step.name, reason: "CallerIpBlocked", message: "Caller IP address \(caller) is blocked.", status: 403,
                    clientMessage: "Forbidden")
            }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        let text: PolicyParameter<String>
        switch action {
        case .constant(let value): text = .constant(value.rawValue)
        case .expression(let expression): text = .expression(expression)
        }
        return compiler.parameter(text).map { Step(action: $0, policy: self) }
    }
}
