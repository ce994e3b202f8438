import Synchronization
import X509

/// The work one verification may spend on chain building. swift-certificates' `Verifier` searches
/// depth first through every candidate issuer its stores return for a name and checks each one's
/// signature; with many certificates sharing a subject (x509-limbo's pathological chains, or a few
/// same-subject, same-key certificates that differ only in their SAN, which its loop detection
/// treats as distinct) the number of paths grows quadratically or even factorially. Every candidate
/// a store hands out is charged here; once the limit is reached the stores answer "no issuer", the
/// search ends, and the verifier reports `pathBuildingLimitExceeded`.
final class PathBuildingBudget: Sendable {
    private struct State {
        var used = 0
        var exhausted = false
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Charges `count` candidates; false (and exhausted from then on) when they do not fit.
    func take(_ count: Int) -> Bool {
        let limit = self.limit
        return state.withLock { state in
            guard !state.exhausted, count <= limit - state.used else {
                state.exhausted = true
                return false
            }
            state.used += count
            return true
        }
    }

    /// Candidates handed out so far.
    var used: Int { state.withLock { $0.used } }
    /// Whether a lookup was refused for lack of budget.
    var exhausted: Bool { state.withLock { $0.exhausted } }
}

/// A certificate store for one verification that charges every candidate issuer it returns to a
/// `PathBuildingBudget`.
struct BudgetedCertificateStore: CustomCertificateStore {
    private var inner: NameMatchingCertificateStore
    private let budget: PathBuildingBudget

    init(_ inner: NameMatchingCertificateStore, budget: PathBuildingBudget) {
        self.inner = inner
        self.budget = budget
    }

    subscript(subject: DistinguishedName) -> [Certificate]? {
        get async {
            guard let candidates = inner.lookup(subject), !candidates.isEmpty else { return nil }
            return budget.take(candidates.count) ? candidates : nil
        }
    }

    func contains(_ certificate: Certificate) async -> Bool {
        await inner.contains(certificate)
    }

    mutating func append(contentsOf certificates: some Sequence<Certificate>) {
        inner.append(contentsOf: certificates)
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.budget === rhs.budget && lhs.inner == rhs.inner }
    func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(budget))
        hasher.combine(inner)
    }
}
