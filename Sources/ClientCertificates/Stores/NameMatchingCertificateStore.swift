import X509

/// A swift-certificates `CustomCertificateStore` that finds issuers by RFC 5280 name matching
/// (case and whitespace insensitive) instead of byte equality, so chains whose names differ only in
/// encoding still build (PKITS 4.3.3–4.3.11).
struct NameMatchingCertificateStore: CustomCertificateStore {
    private var bySubject: [NormalizedName: [Certificate]] = [:]
    private var exact: Set<Certificate> = []
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

    func contains(_ certificate: Certificate) async -> Bool { exact.contains(certificate) }

    mutating func append(contentsOf certificates: some Sequence<Certificate>) {
        for certificate in certificates where !exact.contains(certificate) {
            exact.insert(certificate)
            ordered.append(certificate)
            if let key = NormalizedName(certificate.subject) {
                bySubject[key, default: []].append(certificate)
            }
        }
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.ordered == rhs.ordered }
    func hash(into hasher: inout Hasher) { hasher.combine(ordered) }
}
