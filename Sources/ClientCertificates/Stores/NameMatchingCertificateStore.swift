import X509

/// A swift-certificates `CustomCertificateStore` that finds issuers by RFC 5280 name matching
/// (case and whitespace insensitive) instead of byte equality, so chains whose names differ only in
/// encoding still build (PKITS 4.3.3–4.3.11).
struct NameMatchingCertificateStore: CustomCertificateStore {
    // No Set<Certificate>: hashing a certificate walks every byte, and a store of presented
    // intermediates is built per verification. Buckets by subject are small; == is enough.
    private var bySubject: [NormalizedName: [Certificate]] = [:]
    private var ordered: [Certificate] = []

    init(_ certificates: some Sequence<Certificate>) {
        append(contentsOf: certificates)
    }

    subscript(subject: DistinguishedName) -> [Certificate]? {
        get async { lookup(subject) }
    }

    func lookup(_ subject: DistinguishedName) -> [Certificate]? {
        guard let key = NormalizedName(subject) else { return nil }
        return bySubject[key]
    }

    func contains(_ certificate: Certificate) async -> Bool {
        lookup(certificate.subject)?.contains(certificate) ?? false
    }

    mutating func append(contentsOf certificates: some Sequence<Certificate>) {
        for certificate in certificates {
            guard let key = NormalizedName(certificate.subject) else { continue }
            if bySubject[key]?.contains(certificate) == true { continue }
            ordered.append(certificate)
            bySubject[key, default: []].append(certificate)
        }
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.ordered == rhs.ordered }
    func hash(into hasher: inout Hasher) { hasher.combine(ordered.count) }
}
