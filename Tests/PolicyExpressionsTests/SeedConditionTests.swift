import Testing
@testable import PolicyExpressions

/// The three certificate conditions from the APIM seed page (learn: api-management-howto-mutual-certificates-for-clients).
@Suite struct SeedConditionTests {
    static let thumbprintCondition = #"context.Request.Certificate == null || !context.Request.Certificate.Verify() || context.Request.Certificate.Thumbprint != "DESIRED-THUMBPRINT-IN-UPPER-CASE""#
    static let issuerCondition = #"context.Request.Certificate == null || !context.Request.Certificate.Verify() || context.Request.Certificate.Issuer != "trusted-issuer" || context.Request.Certificate.SubjectName.Name != "expected-subject-name""#
    static let storeCondition = #"context.Request.Certificate == null || !context.Request.Certificate.Verify()  || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint)"#

    /// (condition, certificate, deployment store, expected "reject?")
    static let cases: [(String, FakeCertificate?, [(String, FakeCertificate)], Bool)] = [
        (thumbprintCondition, nil, [], true),
        (thumbprintCondition, TestContext.trustedCertificate, [], false),
        (thumbprintCondition, FakeCertificate(thumbprint: "DESIRED-THUMBPRINT-IN-UPPER-CASE", verifies: false), [], true),
        (thumbprintCondition, FakeCertificate(thumbprint: "desired-thumbprint-in-upper-case"), [], true),
        (issuerCondition, nil, [], true),
        (issuerCondition, TestContext.trustedCertificate, [], false),
        (issuerCondition, FakeCertificate(subject: "expected-subject-name", issuer: "other-issuer"), [], true),
        // SubjectName.Name is the full DN, so a "CN=" prefix does not match the bare name.
        (issuerCondition, FakeCertificate(subject: "CN=expected-subject-name", issuer: "trusted-issuer"), [], true),
        (issuerCondition, FakeCertificate(subject: "CN=someone-else", issuer: "trusted-issuer"), [], true),
        (issuerCondition, FakeCertificate(subject: "expected-subject-name", issuer: "trusted-issuer", verifies: false), [], true),
        (storeCondition, nil, [("a", TestContext.trustedCertificate)], true),
        (storeCondition, TestContext.trustedCertificate, [("a", TestContext.trustedCertificate)], false),
        (storeCondition, TestContext.trustedCertificate, [], true),
        (storeCondition, TestContext.trustedCertificate, [("x", FakeCertificate(thumbprint: "AAAA")), ("y", FakeCertificate(thumbprint: "DESIRED-THUMBPRINT-IN-UPPER-CASE"))], false),
        (storeCondition, FakeCertificate(thumbprint: "BBBB"), [("x", FakeCertificate(thumbprint: "AAAA"))], true),
        (storeCondition, FakeCertificate(thumbprint: "AAAA", verifies: false), [("x", FakeCertificate(thumbprint: "AAAA"))], true),
    ]

    @Test(arguments: 0..<cases.count)
    func seedCondition(index: Int) throws {
        let (source, certificate, store, expected) = Self.cases[index]
        let compiled = try TestContext.compiler.compile(source)
        #expect(compiled.resultType == .bool)
        let context = TestContext.make(certificate: certificate, deploymentCertificates: store)
        let value = try compiled.evaluate(context: context)
        #expect(value.boolValue == expected, "case \(index)")
    }

    @Test func misspelledMemberIsACompileErrorWithPosition() {
        #expect(throws: ExpressionCompileError(line: 1, column: 17, message: "'IRequest' has no member 'Certifcate'")) {
            try TestContext.compiler.compile("context.Request.Certifcate == null")
        }
    }

    @Test func compiledConditionIsReusableAcrossConcurrentRequests() async throws {
        let compiled = try TestContext.compiler.compile(Self.storeCondition)
        let accepted = TestContext.make()
        let rejected = TestContext.make(certificate: FakeCertificate(thumbprint: "NOPE"))
        let results = await withTaskGroup(of: (Bool, Bool).self) { group in
            for i in 0..<64 {
                group.addTask {
                    let reject = i % 2 == 1
                    let value = try? compiled.evaluate(context: reject ? rejected : accepted)
                    return (reject, value?.boolValue ?? !reject)
                }
            }
            var all: [(Bool, Bool)] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 64)
        #expect(results.allSatisfy { $0.0 == $0.1 })
    }
}
