import GatewayConfiguration
import Testing

struct GatewayConfigLoaderTests {
    static let valid = """
    listen: { address: 0.0.0.0, port: 9443 }
    defaultHostname: api.example.com
    hostnames:
      - name: API.example.com
        certificate: certs/server.pem
        key: certs/server-key.pem
        clientCertificate: required
        trustedCAs: [ca/root.pem, /abs/intermediate.pem]
      - name: "*.internal.example.com"
        pkcs12: wild.pfx
        password: secret
        http2: false
    apis:
      - name: orders
        hostnames: [api.example.com]
        path: /orders/
        backend: https://orders.internal:8443/v1
        requireTrustedClientCertificate: true
        operations:
          - { method: get, template: "/{id}" }
          - { name: everything, method: "*", template: "*" }
    backend: { timeout: 1500ms, connectTimeout: 2s, trustedCAs: backend-ca.pem }
    limits: { maxHeaderBytes: 4096, headerReadTimeout: 5s, idleTimeout: 2m }
    accessLog: false
    """

    @Test func parsesEveryFieldAndResolvesRelativePaths() throws {
        let config = try GatewayConfigLoader.parse(yaml: Self.valid, file: "gw.yaml", baseDirectory: "/etc/drawbridge")
        #expect(config.listen == ListenConfig(address: "0.0.0.0", port: 9443))
        #expect(config.defaultHostname == "api.example.com")
        #expect(config.hostnames.count == 2)
        #expect(config.hostnames[0].name == "api.example.com")
        #expect(config.hostnames[0].serverCertificate == .pem(certificateFile: "/etc/drawbridge/certs/server.pem", keyFile: "/etc/drawbridge/certs/server-key.pem"))
        #expect(config.hostnames[0].clientCertificate == .required)
        #expect(config.hostnames[0].trustedCAFiles == ["/etc/drawbridge/ca/root.pem", "/abs/intermediate.pem"])
        #expect(config.hostnames[1].serverCertificate == .pkcs12(file: "/etc/drawbridge/wild.pfx", password: "secret"))
        #expect(config.hostnames[1].isWildcard)
        #expect(config.hostnames[1].http2 == false)
        #expect(config.apis[0].pathPrefix == "/orders")
        #expect(config.apis[0].operations.map(\.method) == ["GET", "*"])
        #expect(config.apis[0].operations[1].urlTemplate == "/*")
        #expect(config.apis[0].operations[1].name == "everything")
        #expect(config.backend.timeout == 1.5)
        #expect(config.backend.trustedCAFiles == ["/etc/drawbridge/backend-ca.pem"])
        #expect(config.limits.maxHeaderBytes == 4096)
        #expect(config.limits.idleTimeout == 120)
        #expect(config.accessLog == false)
    }

    @Test func forwardClientCertificateModes() throws {
        func api(_ mode: String) -> String {
            "hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\napis:\n  - { name: x, backend: http://b, forwardClientCertificate: \(mode) }\n"
        }
        #expect(try GatewayConfigLoader.parse(yaml: api("xfcc"), file: "gw.yaml", baseDirectory: "/").apis[0].forwardClientCertificate == .xfcc)
        #expect(try GatewayConfigLoader.parse(yaml: api("rfc9440"), file: "gw.yaml", baseDirectory: "/").apis[0].forwardClientCertificate == .rfc9440)
        let plain = api("none").replacingOccurrences(of: ", forwardClientCertificate: none", with: "")
        #expect(try GatewayConfigLoader.parse(yaml: plain, file: "gw.yaml", baseDirectory: "/").apis[0].forwardClientCertificate == ClientCertificateForwardingMode.none)
        #expect { try GatewayConfigLoader.parse(yaml: api("pem"), file: "gw.yaml", baseDirectory: "/") } throws: { error in
            "\(error)".hasPrefix("gw.yaml:4:61: api 'x': forwardClientCertificate must be none, rfc9440 or xfcc, got 'pem'")
        }
    }

    @Test func certificatesWithKeysAndPasswordsFromNamedValues() throws {
        let yaml = """
        hostnames:
          - { name: a.test, certificate: c.pem, key: k.pem }
        policies:
          certificates:
            plain: plain.pem
            split: { certificate: split.pem, key: split-key.pem }
            pfx: { certificate: c.pfx, password: "{{pfx-pw}}" }
            literal: { certificate: d.pfx, password: s3 }
          namedValues: { pfx-pw: { value: from-named-value, secret: true } }
        """
        let policies = try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: "/e").policies
        #expect(policies.certificateFiles == ["plain": "/e/plain.pem", "split": "/e/split.pem", "pfx": "/e/c.pfx", "literal": "/e/d.pfx"])
        #expect(policies.certificateKeyFiles == ["split": "/e/split-key.pem"])
        #expect(policies.certificatePasswords == ["pfx": "from-named-value", "literal": "s3"])
        let undefined = yaml.replacingOccurrences(of: "{{pfx-pw}}", with: "{{nope}}")
        #expect { try GatewayConfigLoader.parse(yaml: undefined, file: "gw.yaml", baseDirectory: "/") } throws: { error in
            "\(error)".contains("named value 'nope' is not defined")
        }
    }

    @Test func tlsProfilePerHostname() throws {
        func yaml(_ tls: String) -> String { "hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem, tls: \(tls) }\n" }
        let parsed = try GatewayConfigLoader.parse(
            yaml: yaml("{ minVersion: \"1.3\", cipherSuites: \"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384\", curves: [X25519] }"),
            file: "gw.yaml", baseDirectory: "/")
        #expect(parsed.hostnames[0].tls.minimumVersion == .tls13)
        #expect(parsed.hostnames[0].tls.cipherSuites == ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"])
        #expect(parsed.hostnames[0].tls.curves == ["x25519"])
        let defaults = try GatewayConfigLoader.parse(yaml: "hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\n", file: "gw.yaml", baseDirectory: "/")
        #expect(defaults.hostnames[0].tls == TLSProfile())
        for (tls, message) in [("{ minVersion: \"1.1\" }", "tls minVersion must be 1.2 or 1.3, got '1.1'"),
                               ("{ cipherSuites: [DES-CBC3-SHA] }", "unknown cipher suite 'DES-CBC3-SHA'"),
                               ("{ curves: [brainpool] }", "unknown group 'brainpool'")] {
            #expect { try GatewayConfigLoader.parse(yaml: yaml(tls), file: "gw.yaml", baseDirectory: "/") } throws: { error in
                "\(error)".hasPrefix("gw.yaml:2:") && "\(error)".contains(message)
            }
        }
    }

    @Test func crlFilesGloballyAndPerHostname() throws {
        let yaml = """
        hostnames:
          - { name: a.test, certificate: c.pem, key: k.pem, clientCertificate: negotiate, trustedCAs: ca.pem, crlFiles: [issuing.crl], revocationMethod: ocsp }
        policies:
          revocation: { mode: fail-closed, scope: chain, crlFiles: [root.crl, /abs/other.pem], method: crl-then-ocsp, crlFileCheck: 10s }
        """
        let config = try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: "/etc/d")
        #expect(config.hostnames[0].crlFiles == ["/etc/d/issuing.crl"])
        #expect(config.policies.revocation.crlFiles == ["/etc/d/root.crl", "/abs/other.pem"])
        #expect(config.policies.revocation.method == .crlThenOCSP)
        #expect(config.policies.revocation.crlFileCheck == 10)
        #expect(config.hostnames[0].revocationMethod == .ocsp)
        let badMethod = "hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\npolicies: { revocation: { method: ldap } }\n"
        #expect { try GatewayConfigLoader.parse(yaml: badMethod, file: "gw.yaml", baseDirectory: "/") } throws: { error in
            "\(error)".contains("revocation method must be crl, ocsp, ocsp-then-crl or crl-then-ocsp, got 'ldap'")
        }
        let off = "hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem, crlFiles: x.crl }\n"
        #expect { try GatewayConfigLoader.parse(yaml: off, file: "gw.yaml", baseDirectory: "/") } throws: { error in
            "\(error)".hasPrefix("gw.yaml:2:63: hostname 'a.test': crlFiles need clientCertificate negotiate or required")
        }
    }

    @Test(arguments: [
        ("hostnames:\n  - name: a.test\n    certificate: c.pem\n    key: k.pem\n    clientCertificate: sometimes\n",
         "gw.yaml:5:24: clientCertificate must be off, negotiate or required, got 'sometimes'"),
        ("hostnames:\n  - name: a.test\n    certificate: c.pem\n    key: k.pem\n    clientCertifcate: required\n",
         "gw.yaml:5:5: hostname: unknown key 'clientCertifcate'"),
        ("hostnames:\n  - name: a.test\n    certificate: c.pem\n",
         "gw.yaml:2:5: hostname 'a.test' needs either 'certificate' and 'key' (PEM) or 'pkcs12' (with 'password')"),
        ("hostnames:\n  - name: a.test\n    certificate: c.pem\n    key: k.pem\n    clientCertificate: required\n",
         "gw.yaml:2:5: hostname 'a.test': clientCertificate 'required' needs 'trustedCAs'"),
        ("hostnames:\n  - name: bad_host!\n    certificate: c.pem\n    key: k.pem\n",
         "gw.yaml:2:11: 'bad_host!' is not a valid host name"),
        ("hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\napis:\n  - { name: x, backend: ftp://files }\n",
         "gw.yaml:4:25: api 'x': backend must be an absolute http:// or https:// URL, got 'ftp://files'"),
        ("hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\nlimits: { idleTimeout: -3s }\n",
         "gw.yaml:3:24: limits.idleTimeout must be a positive duration"),
        ("hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\ndefaultHostname: b.test\n",
         "gw.yaml:3:18: defaultHostname 'b.test' must name one of the configured (non-wildcard) hostnames"),
        ("hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\n  - { name: A.test, certificate: c.pem, key: k.pem }\n",
         "gw.yaml:3:5: hostname 'a.test' is configured twice"),
        ("hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\napis:\n  - name: x\n    backend: http://b\n    operations:\n      - { name: op, method: GET, template: /a }\n      - { name: op, method: GET, template: /b }\n",
         "gw.yaml:8:9: api 'x': operation name 'op' is used twice"),
        ("hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\nlimits: { bodyReadTimeout: 0s }\n",
         "gw.yaml:3:28: limits.bodyReadTimeout must be a positive duration"),
        ("listen: { port: 70000 }\nhostnames: []\n", "gw.yaml:1:17: listen.port must be between 0 and 65535, got 70000"),
        ("hostnames: [\n", "gw.yaml: invalid YAML"),
        ("apis: []\n", "gw.yaml:1:1: configuration needs 'hostnames'"),
        ("hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\npolicies:\n  backends: { legacy: ftp://old }\n",
         "gw.yaml:4:23: backend 'legacy' must be an absolute http:// or https:// URL, got 'ftp://old'"),
        ("hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\npolicies:\n  managedIdentityEndpoint: imds\n",
         "gw.yaml:4:28: policies.managedIdentityEndpoint must be an absolute http:// or https:// URL, got 'imds'"),
    ])
    func errorsNameTheirPlace(yaml: String, expectedPrefix: String) {
        do {
            _ = try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: "/")
            Issue.record("expected an error starting with \(expectedPrefix)")
        } catch let error as ConfigurationError {
            #expect(error.description.hasPrefix(expectedPrefix), "\(error.description)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func traceLogSettingsAreReadWithPositionsForMistakes() throws {
        let base = "hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\n"
        let defaults = try GatewayConfigLoader.parse(yaml: base, file: "gw.yaml", baseDirectory: "/")
        #expect(defaults.traceLog == TraceLogConfig(severity: .information, sources: [:], perSecond: 100))
        let config = try GatewayConfigLoader.parse(
            yaml: base + "traceLog: { severity: Verbose, sources: { noisy: error, quiet: off }, perSecond: 5 }\n",
            file: "gw.yaml", baseDirectory: "/")
        #expect(config.traceLog == TraceLogConfig(severity: .verbose, sources: ["noisy": .error, "quiet": .off], perSecond: 5))
        #expect(config.traceLog.admits(source: "any", severity: .verbose))
        #expect(!config.traceLog.admits(source: "noisy", severity: .information) && config.traceLog.admits(source: "noisy", severity: .error))
        #expect(!config.traceLog.admits(source: "quiet", severity: .error))
        for (yaml, prefix) in [
            ("traceLog: { severity: loud }\n", "gw.yaml:3:23: traceLog.severity must be verbose, information, error or off (not 'loud')"),
            ("traceLog: { perSecond: 0 }\n", "gw.yaml:3:24: traceLog.perSecond must be between 1 and 100000"),
            ("traceLog: { level: error }\n", "gw.yaml:3:"),
        ] {
            #expect(throws: ConfigurationError.self) { _ = try GatewayConfigLoader.parse(yaml: base + yaml, file: "gw.yaml", baseDirectory: "/") }
            do { _ = try GatewayConfigLoader.parse(yaml: base + yaml, file: "gw.yaml", baseDirectory: "/") } catch {
                #expect("\(error)".hasPrefix(prefix), "\(error)")
            }
        }
    }

    @Test func policySettingsAreRead() throws {
        let yaml = """
        hostnames:
          - { name: a.test, certificate: c.pem, key: k.pem }
        policies:
          global: policies/global.xml
          fragments: { auth: fragments/auth.xml }
          namedValues:
            expected-thumbprint: ABCDEF
            backend-key: { value: s3cret, secret: true }
          skipUnsupported: true
          backends: { orders-v2: "https://orders-v2.internal/api" }
          managedIdentityEndpoint: http://169.254.169.254/metadata/identity/oauth2/token
          entraAuthority: https://login.microsoftonline.us
        apis:
          - name: x
            backend: http://127.0.0.1:9
            policy: x.xml
            operations:
              - { method: GET, template: /a, policy: ops/a.xml }
        """
        let config = try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: "/etc/db")
        #expect(config.policies.globalFile == "/etc/db/policies/global.xml")
        #expect(config.policies.fragmentFiles == ["auth": "/etc/db/fragments/auth.xml"])
        #expect(config.policies.namedValues == ["expected-thumbprint": "ABCDEF", "backend-key": "s3cret"])
        #expect(config.policies.secretNamedValues == ["backend-key"])
        #expect(config.policies.managedIdentityEndpoint == "http://169.254.169.254/metadata/identity/oauth2/token")
        #expect(config.policies.entraAuthority == "https://login.microsoftonline.us")
        #expect(config.policies.skipUnsupported)
        #expect(config.policies.backendURLs == ["orders-v2": "https://orders-v2.internal/api"])
        #expect(config.apis[0].policyFile == "/etc/db/x.xml")
        #expect(config.apis[0].operations[0].policyFile == "/etc/db/ops/a.xml")
    }

    @Test func missingFileIsAClearError() {
        #expect(throws: ConfigurationError.self) {
            _ = try GatewayConfigLoader.load(path: "/nonexistent/drawbridge.yaml")
        }
    }
}
