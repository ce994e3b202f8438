import Testing

@testable import Policies

@Suite("validate-client-certificate (REFERENCE.md §1.5)")
struct ValidateClientCertificatePolicyTests {
    @Test("defaults: every validate-* true, ignore-error false, no identities")
    func defaults() {
        guard case .validateClientCertificate(let policy) = loadOne("<validate-client-certificate />") else {
            Issue.record("expected validate-client-certificate")
            return
        }
        #expect(policy.validateRevocation)
        #expect(policy.validateTrust)
        #expect(policy.validateNotBefore)
        #expect(policy.validateNotAfter)
        #expect(!policy.ignoreError)
        #expect(policy.identities.isEmpty)
    }

    @Test("all attributes and every identity claim")
    func everything() {
        let text = """
            <validate-client-certificate validate-revocation="false" validate-trust="true" validate-not-before="false" validate-not-after="True" ignore-error="true">
              <identities>
                <identity thumbprint="a1b2c3d4e5f60718293a4b5c6d7e8f9001122334" serial-number="0a:1b:2c" common-name="client" subject="CN=client, O=&quot;Contoso, Inc.&quot;, C=US" dns-name="client.example.com" issuer-subject="CN=Root" issuer-thumbprint="FFEEDDCCBBAA99887766554433221100FFEEDDCC" />
                <identity issuer-certificate-id="partner-ca" />
              </identities>
            </validate-client-certificate>
            """
        guard case .validateClientCertificate(let policy) = loadOne(text) else {
            Issue.record("expected validate-client-certificate")
            return
        }
        #expect(!policy.validateRevocation)
        #expect(policy.validateTrust)
        #expect(!policy.validateNotBefore)
        #expect(policy.validateNotAfter)
        #expect(policy.ignoreError)
        #expect(policy.identities.count == 2)
        let first = policy.identities[0]
        #expect(first.thumbprint == "A1B2C3D4E5F60718293A4B5C6D7E8F9001122334")
        #expect(first.serialNumber == "0A1B2C")
        #expect(first.commonName == "client")
        #expect(first.subject == #"CN=client, O="Contoso, Inc.", C=US"#)
        #expect(first.dnsName == "client.example.com")
        #expect(first.issuerSubject == "CN=Root")
        #expect(first.issuerThumbprint == "FFEEDDCCBBAA99887766554433221100FFEEDDCC")
        #expect(first.issuerCertificateID == nil)
        #expect(first.position == SourcePosition(file: "test.xml", line: 3, column: 5))
        #expect(policy.identities[1].issuerCertificateID == "partner-ca")
    }

    @Test("errors", arguments: [
        (#"<validate-client-certificate validate-trust="@(true)" />"#, PolicySection.inbound, "test.xml:1:65: the attribute 'validate-trust' of '<validate-client-certificate>' does not allow policy expressions"),
        (#"<validate-client-certificate validate-trust="yes" />"#, .inbound, "test.xml:1:65: invalid value 'yes' for attribute 'validate-trust' of '<validate-client-certificate>': expected 'true' or 'false'"),
        (#"<validate-client-certificate><identities><identity thumbprint="XYZ" /></identities></validate-client-certificate>"#, .inbound, "test.xml:1:83: invalid value 'XYZ' for 'thumbprint' of '<identity>': expected a SHA-1 thumbprint of 40 hex digits"),
        (#"<validate-client-certificate><identities><identity issuer-certificate-id="ca" issuer-subject="CN=x" /></identities></validate-client-certificate>"#, .inbound, "test.xml:1:94: 'issuer-certificate-id' of '<identity>' cannot be combined with 'issuer-subject' or 'issuer-thumbprint'"),
        (#"<validate-client-certificate><identities><identity /></identities></validate-client-certificate>"#, .inbound, "test.xml:1:61: '<identity>' requires at least one claim (thumbprint, serial-number, common-name, subject, dns-name, issuer-subject, issuer-thumbprint or issuer-certificate-id)"),
        (#"<validate-client-certificate><identities><identity cn="x" /></identities></validate-client-certificate>"#, .inbound, "test.xml:1:71: unknown attribute 'cn' on '<identity>' (expected 'thumbprint', 'serial-number', 'common-name', 'subject', 'dns-name', 'issuer-subject', 'issuer-thumbprint', 'issuer-certificate-id')"),
        (#"<validate-client-certificate><identity thumbprint="A" /></validate-client-certificate>"#, .inbound, "test.xml:1:49: unexpected element '<identity>' inside '<validate-client-certificate>' (expected '<identities>')"),
        ("<validate-client-certificate />", .outbound, "test.xml:1:21: the policy '<validate-client-certificate>' is not allowed in '<outbound>'; it is allowed in '<inbound>'"),
    ])
    func errors(statement: String, section: PolicySection, expected: String) {
        #expect(loadErrors(statement, section: section) == [expected])
    }
}

@Suite("authentication-certificate (REFERENCE.md §1.6)")
struct AuthenticationCertificatePolicyTests {
    @Test("thumbprint, certificate-id, or body with password")
    func forms() {
        guard case .authenticationCertificate(let byThumbprint) = loadOne(#"<authentication-certificate thumbprint="a1b2c3d4e5f60718293a4b5c6d7e8f9001122334" />"#),
            case .thumbprint(let thumbprint) = byThumbprint.source
        else {
            Issue.record("expected a thumbprint")
            return
        }
        #expect(thumbprint.constant == "A1B2C3D4E5F60718293A4B5C6D7E8F9001122334")
        guard case .authenticationCertificate(let byID) = loadOne(#"<authentication-certificate certificate-id="kv-cert" />"#),
            case .certificateID(let id) = byID.source
        else {
            Issue.record("expected a certificate id")
            return
        }
        #expect(id.constant == "kv-cert")
        let compiler = RecordingCompiler()
        let body = #"<authentication-certificate body="@(Convert.FromBase64String((string)context.Variables["cert"]))" password="{{pfx-password}}" />"#
        let options = PolicyLoadOptions(namedValues: NamedValues([.secret("pfx-password", "p@ss")]))
        guard case .success(let statements) = load(policies(body), options: options, compiler: compiler),
            case .authenticationCertificate(let byBody)? = statements.first?.policy,
            case .body(let expression, let password) = byBody.source
        else {
            Issue.record("expected a body")
            return
        }
        #expect(expression.source.source == #"Convert.FromBase64String((string)context.Variables["cert"])"#)
        #expect(password?.constant == "p@ss")
        #expect(compiler.calls.map(\.resultType) == [.bytes])
    }

    @Test("errors", arguments: [
        ("<authentication-certificate />", "test.xml:1:20: '<authentication-certificate>' requires exactly one of 'thumbprint', 'certificate-id' and 'body'"),
        (#"<authentication-certificate thumbprint="A" certificate-id="b" />"#, "test.xml:1:20: '<authentication-certificate>' requires exactly one of 'thumbprint', 'certificate-id' and 'body'"),
        (#"<authentication-certificate certificate-id="b" password="x" />"#, "test.xml:1:77: 'password' of '<authentication-certificate>' is only used with 'body'"),
        (#"<authentication-certificate thumbprint="not-hex" />"#, "test.xml:1:60: invalid thumbprint 'not-hex' in '<authentication-certificate>': expected 40 hex digits"),
        (#"<authentication-certificate body="AAAA" />"#, "test.xml:1:54: 'body' of '<authentication-certificate>' must be a policy expression producing a byte array"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("validate-client-certificate with named values")
struct ValidateClientCertificateNamedValueTests {
    @Test("a named value can switch a literal-only attribute, since substitution happens before parsing", arguments: ["true", "false"])
    func namedValueFlag(value: String) throws {
        let options = PolicyLoadOptions(namedValues: NamedValues([NamedValue(name: "check-chain", value: value)]))
        let text = policies(#"<validate-client-certificate validate-trust="{{check-chain}}"><identities><identity subject="CN=Client" issuer-subject="CN=CA" /></identities></validate-client-certificate>"#)
        guard case .validateClientCertificate(let policy)? = try load(text, options: options).get().first?.policy else {
            Issue.record("expected validate-client-certificate")
            return
        }
        #expect(policy.validateTrust == (value == "true"))
        #expect(policy.identities.first?.subject == "CN=Client")
        #expect(policy.identities.first?.issuerSubject == "CN=CA")
    }
}
