import ClientCertificates
import Foundation
import Testing

/// A PFX made once with `openssl req -x509 -newkey ec ... -subj "/CN=PFX Client/O=Drawbridge Tests"`
/// and `openssl pkcs12 -export -passout pass:correct-horse` (OpenSSL 3 defaults: AES-256-CBC,
/// PBKDF2, HMAC-SHA256 MAC). Building a PFX needs NIOSSL, which this test target does not link.
enum PFXFixture {
    static let base64 = "MIIETAIBAzCCBAIGCSqGSIb3DQEHAaCCA/MEggPvMIID6zCCAqIGCSqGSIb3DQEHBqCCApMwggKPAgEAMIICiAYJKoZIhvcNAQcBMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAivmgDWozHqlAICCAAwDAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEJDaymkxmd3N7XGcOvZzk0yAggIgjbUGCnDuAl2ES4MApPKwiNhScibVk1ZfGovckyVESCHMRVR+KwdSwg8AMjuTFemxPhffOcOSHlbfGUYeaEi8UtYfN8X3xbzl2nRCYgrhi1alZDXp7cMPDQjlymJkZVIXjHRBLPYP39Bn6mEM09/YSliboJ4gXMgGfIChr6bRuXiTQHuAL1J/gLBghPTbS/6u2E7FlaNOBNNvTRIe6PgZpNhm5EgAlmIgl5nALkjEYDybL/r+jzZRwk8Gdnt5VBchR5BLaNEIQof3RKStN3xEYHePR3BHgW7BA8/aQzsZ+qmDXj5bqak9krftSO3qjytZQc6WMQETj/TGaqninzCtR8cqZSBTtFXYtOMFKQtXxZeDkYmdraF+GrS9sEGmJJ1MEtaahGX6uKTMFbaVd/DAItO9UAhM+FiCG+ohzsxtdsUBmrbxIy5cvsGXSOD5W7er1EjBhmjEhhuT8MG5XF3fNS9/OI5Vs4vkfJZnEgrcrYz8bmlzaUZd3etIp5dn8OIVkQ0ltP66weEI2/qG+TpYp9OcmVQVuhtmNTgm8XiJaYDA9p7xqZ8KmDxKd0knkWZ2eY4n7eLAl1LcGF4ssdsoDrJAsIBlK5JoAH6mdLpc5JYTKXgKT6XQzoM7IUop4pMVSFL+R5JucRUtAxjgLmhpVzYbbANlJ5zm2JucltVlzGCekPqO1wH+4btpZZUzhFVsjXI5ldckkUcZ8V9Eo/0mNjCCAUEGCSqGSIb3DQEHAaCCATIEggEuMIIBKjCCASYGCyqGSIb3DQEMCgECoIHvMIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjrS+BOKR7XxAICCAAwDAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEPRvD92GzT7GQlFEJiMj3EcEgZBg0klqGMRrFq5fjU8qRdXQIjJHtdybHBt0kD/1dIleZSkOgN9T4BwnHpX7bSKsxGJTXXPcvDRSfjCivjtcMyW9O6Bx8F7d9Tq1fRWiIgYAUIpNcqAaRS2XfZ9QLcYW7IgDtnHGfxvzIYlv77HjobeXRUrEbGnjGDfhbt61QQ7vz+QT4FG61yH5Ohq15bndtKAxJTAjBgkqhkiG9w0BCRUxFgQUQJVEMMuBqDWM/r9RABeLZPlpnpowQTAxMA0GCWCGSAFlAwQCAQUABCCaxyGJyzKiDWWr9U/uN1yX1s1f4AnwHik4XTxS7N1FogQI/mW1ISKLGgsCAggA"
    static let thumbprint = "40954430CB81A8358CFEBF5100178B64F9699E9A"
    static var bytes: [UInt8] { [UInt8](Data(base64Encoded: base64) ?? Data()) }
}

/// PFX files NIOSSL's `NIOSSLPKCS12Bundle` stopped the process on (`fatalError`): made with OpenSSL
/// 3 from a P-256 certificate "CN=PFX Certs Only" and an unrelated key,
/// `openssl pkcs12 -export -nokeys -in a.crt` (certificates only) and
/// `openssl pkcs12 -export -nocerts -inkey b.key` (a key only), both `-passout pass:correct-horse`.
enum PartialPFXFixture {
    static let certificatesOnly = "MIIC5wIBAzCCAp0GCSqGSIb3DQEHAaCCAo4EggKKMIIChjCCAoIGCSqGSIb3DQEHBqCCAnMwggJvAgEAMIICaAYJKoZIhvcNAQcBMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhSev6J0OjUbwICCAAwDAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEECxpI7sVIGgwK2WNA8nfBKOAggIAM/04mWXl3LEqxiNPdnzUNrF8vwsEnqP9OMAWwIsUuB+x1G60LpsYjE8vBKjdT1ssO4FRMkgDVYGkhEKOQ2krsv5LrvacBzsJHlXnp+rabTtNSl6iZrUNaibjajMJi5Xf1exn7xJHxXPZpDOkluZ1Wb2yRZmYbYSMx1pZ2ao+eG9cpQ/kjzRJQCrbtTMDLwiR+GRXzxejIjXonHYk1GDEzKngONGYfeipg2KhiECfZ+484lsajgqMbjLucfb6WgO6I6UJd1SBBtWteOHDK0k4cz+dO2Z7+vd1d93CnGYqSd1pN7usxc+HH+LWGQaj6hS7SdeAt5n5UNGysP6A6HCvnfTCYA3axq3GTI23SZLIx7XLiFVjuBlL+tbl2uaY+JAvWfKlxPQYsGfpUOCABNVUwgBgvUh0JNThpDH6XQbk/GDjBIqqC39haaZMAGVysUJo9HTD0k/RWBK/xNAojMGZ91XmdBzUJO2CJ3yRZAtaSevIwc2y7UNIjUeIQ90FJFal+hafsGteVXvOYnQoF+ato3dAcAWl2lwxse7n2YhV4DULtHQT6rALeV60mkMIYOeq5wlbCqwCdJapN0I93HGEt5Q0j/CSc1N9/1WUZMnekK7WRVOJRF91PslfjpXxzCBAzOomVKOa4RWGI/D4XhCyfZ99Mnqdf3nBsoyjYyDI0BowQTAxMA0GCWCGSAFlAwQCAQUABCAZkWrpWizBV+aZp55wM3EDh/gq6mU8q/h3JJQk6gj31wQIXxSeyX+IDh4CAggA"
    static let certificatesOnlyThumbprint = "7D402AAE69D4CB74DA489D77CEB6ABFE3215910F"
    static let keyOnly = "MIIBfgIBAzCCATQGCSqGSIb3DQEHAaCCASUEggEhMIIBHTCCARkGCSqGSIb3DQEHAaCCAQoEggEGMIIBAjCB/wYLKoZIhvcNAQwKAQKgge8wgewwVwYJKoZIhvcNAQUNMEowKQYJKoZIhvcNAQUMMBwECNOVCbntSYvVAgIIADAMBggqhkiG9w0CCQUAMB0GCWCGSAFlAwQBKgQQV7n10nAEtdjnzcvrRfP3UQSBkKc6T7VCui9nkDV8+LiNEY8PlA6d2m+J1g95aaU2Uf9GTpTPD372zYe0ok9Dx95IfIV44RbNOAwhCfPRbQkSz7zssr53dceOZvTbDYGA1Em88kGO0JYrZ7O6BVAnxcUQvMGUw240a5WxtumRTmLLtGtx0RKbHH483WivH4zm+toE0+hgmOR/QVHlD7YgqlCuJzBBMDEwDQYJYIZIAWUDBAIBBQAEICIc0/xSz//PVktgcwtGHpFqsKRQGq8uFqxYHRkRaAmDBAjRbSOTTmSWYwICCAA="
    static func bytes(_ base64: String) -> [UInt8] { [UInt8](Data(base64Encoded: base64) ?? Data()) }
}

@Suite struct PKCS12Tests {
    /// Formerly a crash (NIOSSL: "Failed to obtain cert and pkey from a PKC12 file").
    @Test func aCertificatesOnlyPFXLoadsItsCertificates() throws {
        let bytes = PartialPFXFixture.bytes(PartialPFXFixture.certificatesOnly)
        let certificates = try CertificateLoader.loadPKCS12(bytes, password: "correct-horse")
        #expect(certificates.map(\.thumbprint) == [PartialPFXFixture.certificatesOnlyThumbprint])
        #expect(certificates.first?.hasPrivateKey == false)
        #expect(certificates.first?.subject == "O=Drawbridge Tests, CN=PFX Certs Only")
        // The MAC is still checked.
        #expect(throws: CertificateLoadingError.wrongPassword) { try CertificateLoader.loadPKCS12(bytes, password: "nope") }
    }

    /// Formerly a crash too: a key, but no certificate for it.
    @Test func aKeyOnlyPFXIsRefused() {
        let bytes = PartialPFXFixture.bytes(PartialPFXFixture.keyOnly)
        #expect(throws: CertificateLoadingError.invalidPKCS12("it has a private key but no certificate for that key")) {
            try CertificateLoader.load(bytes, password: "correct-horse")
        }
    }

    @Test func loadsWithTheRightPassword() throws {
        let certificates = try CertificateLoader.loadPKCS12(PFXFixture.bytes, password: "correct-horse")
        #expect(certificates.first?.thumbprint == PFXFixture.thumbprint)
        #expect(certificates.first?.hasPrivateKey == true)
        #expect(certificates.first?.subject == "O=Drawbridge Tests, CN=PFX Client")
        let detected = try CertificateLoader.load(PFXFixture.bytes, password: "correct-horse")
        #expect(detected.first?.thumbprint == PFXFixture.thumbprint)
    }

    @Test func wrongPasswordIsWrongPassword() {
        #expect(throws: CertificateLoadingError.wrongPassword) {
            try CertificateLoader.loadPKCS12(PFXFixture.bytes, password: "Tr0ub4dor&3")
        }
    }

    @Test func truncatedPFXIsTruncated() {
        let bytes = PFXFixture.bytes
        do {
            _ = try CertificateLoader.loadPKCS12(Array(bytes.prefix(bytes.count - 40)), password: "correct-horse")
            Issue.record("a truncated PFX loaded")
        } catch let error as CertificateLoadingError {
            guard case .truncated = error else { Issue.record("got \(error)"); return }
        } catch { Issue.record("unexpected \(error)") }
    }
}
