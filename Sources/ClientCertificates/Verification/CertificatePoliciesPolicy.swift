import SwiftASN1
import X509

/// RFC 5280 §6.1 certificate policy processing (the valid_policy_tree with policy mappings,
/// requireExplicitPolicy, inhibitPolicyMapping and inhibitAnyPolicy). With the defaults (initial
/// policy set anyPolicy, nothing required) a chain only fails when its own certificates require an
/// explicit policy that the path does not carry. Handling these extensions also means certificates
/// that mark them critical are accepted.
struct CertificatePoliciesPolicy: VerifierPolicy {
    static let anyPolicy = "2.5.29.32.0"
    static let certificatePoliciesOID: ASN1ObjectIdentifier = [2, 5, 29, 32]
    static let policyMappingsOID: ASN1ObjectIdentifier = [2, 5, 29, 33]
    static let policyConstraintsOID: ASN1ObjectIdentifier = [2, 5, 29, 36]
    static let inhibitAnyPolicyOID: ASN1ObjectIdentifier = [2, 5, 29, 54]
    static let handled: [ASN1ObjectIdentifier] = [
        certificatePoliciesOID, policyMappingsOID, policyConstraintsOID, inhibitAnyPolicyOID,
    ]

    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = Self.handled
    let initialPolicySet: Set<String>
    let initialExplicitPolicy: Bool
    let initialPolicyMappingInhibit: Bool
    let initialAnyPolicyInhibit: Bool

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        // RFC order: certificate 1 is issued by the trust anchor, certificate n is the leaf.
        let path = Array(chain.dropLast().reversed())
        do {
            if let problem = try evaluate(path) { return .fails(.certificatePolicies, problem) }
            return .meetsPolicy
        } catch {
            return .fails(.invalidCertificate, "A certificate policy extension is malformed: \(error).")
        }
    }

    private struct Node {
        var policy: String
        var expected: Set<String>
        var parent: Int
        var alive = true
    }

    /// Returns nil when the path satisfies the policy rules, else the reason.
    func evaluate(_ path: [Certificate]) throws -> String? {
        let n = path.count
        var tree: [[Node]]? = [[Node(policy: Self.anyPolicy, expected: [Self.anyPolicy], parent: -1)]]
        var explicitPolicy = initialExplicitPolicy ? 0 : n + 1
        var inhibitAny = initialAnyPolicyInhibit ? 0 : n + 1
        var policyMapping = initialPolicyMappingInhibit ? 0 : n + 1

        for (offset, certificate) in path.enumerated() {
            let i = offset + 1
            let selfIssued = certificate.isSelfIssued
            let policies = try Self.policies(certificate)
            if var levels = tree, let policies {
                var level: [Node] = []
                let previous = levels[i - 1]
                for policy in policies where policy != Self.anyPolicy {
                    var matched = false
                    for (index, node) in previous.enumerated() where node.alive && node.expected.contains(policy) {
                        level.append(Node(policy: policy, expected: [policy], parent: index))
                        matched = true
                    }
                    if !matched, let anyIndex = previous.firstIndex(where: { $0.alive && $0.policy == Self.anyPolicy }) {
                        level.append(Node(policy: policy, expected: [policy], parent: anyIndex))
                    }
                }
                if policies.contains(Self.anyPolicy), inhibitAny > 0 || (i < n && selfIssued) {
                    for (index, node) in previous.enumerated() where node.alive {
                        for value in node.expected
                        where !level.contains(where: { $0.parent == index && $0.policy == value }) {
                            level.append(Node(policy: value, expected: [value], parent: index))
                        }
                    }
                }
                levels.append(level)
                tree = Self.prune(levels)
            } else {
                tree = nil
            }
            if explicitPolicy == 0, tree == nil {
                return "The path has no valid certificate policy while an explicit policy is required (certificate \(i) of \(n), '\(label(certificate))')."
            }
            guard i < n else { continue }
            // Preparation for certificate i+1.
            let mappings = try Self.mappings(certificate)
            if mappings.contains(where: { $0.issuer == Self.anyPolicy || $0.subject == Self.anyPolicy }) {
                return "'\(label(certificate))' maps anyPolicy, which RFC 5280 forbids."
            }
            if var levels = tree, !mappings.isEmpty {
                let issuerPolicies = Set(mappings.map(\.issuer))
                for issuerPolicy in issuerPolicies {
                    let mapped = Set(mappings.filter { $0.issuer == issuerPolicy }.map(\.subject))
                    if policyMapping > 0 {
                        var found = false
                        for index in levels[i].indices where levels[i][index].alive && levels[i][index].policy == issuerPolicy {
                            levels[i][index].expected = mapped
                            found = true
                        }
                        if !found, let anyNode = levels[i].first(where: { $0.alive && $0.policy == Self.anyPolicy }) {
                            levels[i].append(Node(policy: issuerPolicy, expected: mapped, parent: anyNode.parent))
                        }
                    } else {
                        for index in levels[i].indices where levels[i][index].policy == issuerPolicy {
                            levels[i][index].alive = false
                        }
                    }
                }
                tree = Self.prune(levels)
            }
            if !selfIssued {
                if explicitPolicy > 0 { explicitPolicy -= 1 }
                if policyMapping > 0 { policyMapping -= 1 }
                if inhibitAny > 0 { inhibitAny -= 1 }
            }
            if let constraints = try Self.constraints(certificate) {
                if let require = constraints.requireExplicitPolicy { explicitPolicy = min(explicitPolicy, require) }
                if let inhibit = constraints.inhibitPolicyMapping { policyMapping = min(policyMapping, inhibit) }
            }
            if let skip = try Self.inhibitAnyPolicy(certificate) { inhibitAny = min(inhibitAny, skip) }
        }

        // Wrap-up.
        if explicitPolicy > 0 { explicitPolicy -= 1 }
        if let leaf = path.last, let constraints = try Self.constraints(leaf), constraints.requireExplicitPolicy == 0 {
            explicitPolicy = 0
        }
        if var levels = tree, !initialPolicySet.contains(Self.anyPolicy) {
            let depth = levels.count - 1
            var validNodePolicies: Set<String> = []
            for k in 1..<levels.count {
                for index in levels[k].indices where levels[k][index].alive {
                    let parent = levels[k - 1][levels[k][index].parent]
                    guard parent.policy == Self.anyPolicy, levels[k][index].policy != Self.anyPolicy else { continue }
                    if initialPolicySet.contains(levels[k][index].policy) {
                        validNodePolicies.insert(levels[k][index].policy)
                    } else {
                        Self.kill(&levels, depth: k, index: index)
                    }
                }
            }
            if depth >= 1, let anyIndex = levels[depth].firstIndex(where: { $0.alive && $0.policy == Self.anyPolicy }) {
                let parent = levels[depth][anyIndex].parent
                for policy in initialPolicySet.subtracting(validNodePolicies) {
                    levels[depth].append(Node(policy: policy, expected: [policy], parent: parent))
                }
                levels[depth][anyIndex].alive = false
            }
            tree = Self.prune(levels)
        }
        if explicitPolicy == 0, tree == nil {
            return "No certificate policy acceptable to the verifier is valid for the whole path."
        }
        return nil
    }

    /// Removes dead subtrees and parents left without children; nil when the tree is empty.
    private static func prune(_ input: [[Node]]) -> [[Node]]? {
        var levels = input
        for k in stride(from: levels.count - 1, through: 1, by: -1) {
            for index in levels[k].indices where levels[k][index].alive {
                if !levels[k - 1][levels[k][index].parent].alive { levels[k][index].alive = false }
            }
        }
        let depth = levels.count - 1
        for k in stride(from: depth - 1, through: 0, by: -1) {
            for index in levels[k].indices where levels[k][index].alive {
                if !levels[k + 1].contains(where: { $0.alive && $0.parent == index }) { levels[k][index].alive = false }
            }
        }
        return levels[0].contains(where: \.alive) ? levels : nil
    }

    private static func kill(_ levels: inout [[Node]], depth: Int, index: Int) {
        levels[depth][index].alive = false
        guard depth + 1 < levels.count else { return }
        for child in levels[depth + 1].indices where levels[depth + 1][child].parent == index {
            kill(&levels, depth: depth + 1, index: child)
        }
    }

    // MARK: Extension parsing

    static func policies(_ certificate: Certificate) throws -> [String]? {
        guard let ext = certificate.extensions[oid: certificatePoliciesOID] else { return nil }
        let list = try DER.parse(ext.value).children("certificatePolicies").map { info -> String in
            guard let oidNode = try info.children("PolicyInformation").first else {
                throw CertificateParsingError.malformed("empty PolicyInformation")
            }
            return try ASN1ObjectIdentifier(derEncoded: oidNode).description
        }
        guard !list.isEmpty, Set(list).count == list.count else {
            throw CertificateParsingError.malformed("certificatePolicies is empty or repeats a policy")
        }
        return list
    }

    static func mappings(_ certificate: Certificate) throws -> [(issuer: String, subject: String)] {
        guard let ext = certificate.extensions[oid: policyMappingsOID] else { return [] }
        return try DER.parse(ext.value).children("policyMappings").map { pair in
            let parts = try pair.children("policy mapping")
            guard parts.count == 2 else { throw CertificateParsingError.malformed("policy mapping needs 2 OIDs") }
            return (try ASN1ObjectIdentifier(derEncoded: parts[0]).description, try ASN1ObjectIdentifier(derEncoded: parts[1]).description)
        }
    }

    static func constraints(_ certificate: Certificate) throws -> (requireExplicitPolicy: Int?, inhibitPolicyMapping: Int?)? {
        guard let ext = certificate.extensions[oid: policyConstraintsOID] else { return nil }
        var require: Int?
        var inhibit: Int?
        let fields = try DER.parse(ext.value).children("policyConstraints")
        guard !fields.isEmpty else { throw CertificateParsingError.malformed("policyConstraints is empty") }
        for field in fields {
            let value = try Int(derEncoded: field, withIdentifier: field.identifier)
            guard value >= 0 else { throw CertificateParsingError.malformed("negative SkipCerts") }
            if field.isContextTag(0) { require = value } else if field.isContextTag(1) { inhibit = value } else {
                throw CertificateParsingError.malformed("unknown policyConstraints field")
            }
        }
        return (require, inhibit)
    }

    static func inhibitAnyPolicy(_ certificate: Certificate) throws -> Int? {
        guard let ext = certificate.extensions[oid: inhibitAnyPolicyOID] else { return nil }
        let value = try Int(derEncoded: try DER.parse(ext.value))
        guard value >= 0 else { throw CertificateParsingError.malformed("negative inhibitAnyPolicy") }
        return value
    }
}
