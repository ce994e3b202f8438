import Foundation
import NIOSSL
import X509

/// The certificates whose remaining lifetime an operator must watch: each hostname's server
/// certificate (the leaf) and its trusted CAs. Read at load and reload, never per request.
public enum CertificateInventory {
    static func expiries(snapshot: GatewaySnapshot) -> [CertificateExpiry] {
        var list: [CertificateExpiry] = []
        for hostname in snapshot.hostnames.all {
            if let leaf = serverLeaf(hostname) {
                list.append(CertificateExpiry(kind: "server", hostname: hostname.name, subject: leaf.subject.description,
                                              notAfter: leaf.notValidAfter))
            }
            for ca in hostname.trustedCAs {
                list.append(CertificateExpiry(kind: "ca", hostname: hostname.name, subject: ca.subject.description,
                                              notAfter: ca.notValidAfter))
            }
        }
        return list + deploymentExpiries(snapshot.policies.deploymentCertificates)
    }

    /// The hostname's server certificate (first of its chain), parsed.
    static func serverLeaf(_ hostname: TLSHostname) -> Certificate? {
        guard let (chain, _) = try? TLSHostname.loadServerIdentity(hostname.config),
              let first = chain.first, let der = try? first.toDERBytes() else { return nil }
        return try? Certificate(derEncoded: der)
    }
}
