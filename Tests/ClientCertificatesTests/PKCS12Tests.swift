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

@Suite struct PKCS12Tests {
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
