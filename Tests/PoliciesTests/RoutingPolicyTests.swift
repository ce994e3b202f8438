import Foundation
import Testing

@testable import Policies

@Suite("set-backend-service")
struct SetBackendServicePolicyTests {
    @Test("base-url or backend-id")
    func parses() {
        guard case .setBackendService(let byURL) = loadOne(#"<set-backend-service base-url="https://orders.internal:8443/api" />"#),
            case .baseURL(let url) = byURL.target
        else {
            Issue.record("expected base-url")
            return
        }
        #expect(url.constant == URL(string: "https://orders.internal:8443/api"))
        guard case .setBackendService(let byID) = loadOne(#"<set-backend-service backend-id="orders-pool" />"#, section: .backend),
            case .backendID(let id) = byID.target
        else {
            Issue.record("expected backend-id")
            return
        }
        #expect(id.constant == "orders-pool")
    }

    @Test("errors", arguments: [
        (#"<set-backend-service base-url="https://a" backend-id="b" />"#, "test.xml:1:20: '<set-backend-service>' requires exactly one of the attributes 'base-url' and 'backend-id'"),
        ("<set-backend-service />", "test.xml:1:20: '<set-backend-service>' requires exactly one of the attributes 'base-url' and 'backend-id'"),
        (#"<set-backend-service base-url="ftp://a" />"#, "test.xml:1:51: invalid value 'ftp://a' for attribute 'base-url' of '<set-backend-service>': expected an absolute http or https URL"),
        (#"<set-backend-service base-url="/relative" />"#, "test.xml:1:51: invalid value '/relative' for attribute 'base-url' of '<set-backend-service>': expected an absolute http or https URL"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("forward-request")
struct ForwardRequestPolicyTests {
    @Test("APIM defaults: timeout 300, no redirects, no request buffering, buffered response, errors not raised")
    func defaults() {
        guard case .forwardRequest(let forward) = loadOne("<forward-request />", section: .backend) else {
            Issue.record("expected forward-request")
            return
        }
        #expect(forward.timeout.constant == 300)
        #expect(forward.followRedirects.constant == false)
        #expect(forward.bufferRequestBody.constant == false)
        #expect(forward.bufferResponse.constant == true)
        #expect(forward.failOnErrorStatusCode.constant == false)
        #expect(forward.httpVersion == .http1)
    }

    @Test("every attribute set")
    func attributes() {
        let text = #"<forward-request timeout="20" follow-redirects="true" buffer-request-body="true" buffer-response="false" fail-on-error-status-code="true" http-version="2or1" />"#
        guard case .forwardRequest(let forward) = loadOne(text, section: .backend) else {
            Issue.record("expected forward-request")
            return
        }
        #expect(forward.timeout.constant == 20)
        #expect(forward.followRedirects.constant == true)
        #expect(forward.bufferRequestBody.constant == true)
        #expect(forward.bufferResponse.constant == false)
        #expect(forward.failOnErrorStatusCode.constant == true)
        #expect(forward.httpVersion == .http2OrHTTP1)
    }

    @Test("errors", arguments: [
        ("<forward-request />", PolicySection.inbound, "test.xml:1:20: the policy '<forward-request>' is not allowed in '<inbound>'; it is allowed in '<backend>'"),
        (#"<forward-request timeout="-1" />"#, .backend, "test.xml:1:46: invalid value '-1' for attribute 'timeout' of '<forward-request>': expected an integer from 0 to 240000"),
        (#"<forward-request follow-redirects="yes" />"#, .backend, "test.xml:1:55: invalid value 'yes' for attribute 'follow-redirects' of '<forward-request>': expected 'true' or 'false'"),
    ])
    func errors(statement: String, section: PolicySection, expected: String) {
        #expect(loadErrors(statement, section: section) == [expected])
    }
}

@Suite("send-request")
struct SendRequestPolicyTests {
    @Test("a full side call")
    func parses() {
        let text = """
            <send-request mode="new" response-variable-name="tokenResponse" timeout="20" ignore-error="true">\
            <set-url>https://login.example.com/token</set-url><set-method>POST</set-method>\
            <set-header name="Content-Type" exists-action="override"><value>application/json</value></set-header>\
            <set-body>@("{}")</set-body><authentication-certificate certificate-id="backend-cert" /></send-request>
            """
        guard case .sendRequest(let send) = loadOne(text) else {
            Issue.record("expected send-request")
            return
        }
        #expect(send.mode.constant == .new)
        #expect(send.responseVariableName == "tokenResponse")
        #expect(send.timeout.constant == 20)
        #expect(send.ignoreError.constant == true)
        #expect(send.url?.constant == "https://login.example.com/token")
        #expect(send.method?.method.constant == "POST")
        #expect(send.headers.map(\.name.constant) == ["Content-Type"])
        #expect(send.body?.body?.expression?.source.source == #""{}""#)
        guard case .certificateID(let id)? = send.authenticationCertificate?.source else {
            Issue.record("expected a certificate id")
            return
        }
        #expect(id.constant == "backend-cert")
    }

    @Test("defaults: mode new, timeout 60, ignore-error false; copy mode needs no URL; set-method allowed in any section here")
    func defaults() {
        guard case .sendRequest(let send) = loadOne(#"<send-request response-variable-name="r"><set-url>http://a</set-url></send-request>"#) else {
            Issue.record("expected send-request")
            return
        }
        #expect(send.mode.constant == .new)
        #expect(send.timeout.constant == 60)
        #expect(send.ignoreError.constant == false)
        guard case .sendRequest(let copy) = loadOne(#"<send-request mode="copy" response-variable-name="r"><set-method>GET</set-method></send-request>"#, section: .outbound)
        else {
            Issue.record("expected send-request")
            return
        }
        #expect(copy.mode.constant == .copy)
        #expect(copy.url == nil)
    }

    @Test("errors", arguments: [
        (#"<send-request response-variable-name="r" />"#, "test.xml:1:20: '<send-request mode=\"new\">' requires '<set-url>'"),
        (#"<send-request mode="new"><set-url>http://a</set-url></send-request>"#, "test.xml:1:20: '<send-request>' requires the attribute 'response-variable-name'"),
        (#"<send-request response-variable-name="r"><set-url>not a url</set-url></send-request>"#, "test.xml:1:70: invalid URL 'not a url' in '<set-url>': expected an absolute http or https URL"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("include-fragment")
struct IncludeFragmentPolicyTests {
    @Test("fragment-id is required and literal")
    func errors() {
        #expect(loadErrors("<include-fragment />") == ["test.xml:1:20: '<include-fragment>' requires the attribute 'fragment-id'"])
        #expect(loadErrors(#"<include-fragment fragment-id="@(x)" />"#) == [
            "test.xml:1:51: the attribute 'fragment-id' of '<include-fragment>' does not allow policy expressions"
        ])
    }
}

@Suite("Unknown and unsupported policies")
struct UnknownPolicyTests {
    @Test("an unknown element is an error naming it and its line")
    func unknown() {
        #expect(loadErrors("\n<set-heder name=\"x\" />") == ["test.xml:2:1: unknown policy element '<set-heder>' (did you mean '<set-header>'?)"])
        #expect(loadErrors("<Choose />") == ["test.xml:1:20: unknown policy element '<Choose>' (did you mean '<choose>'?)"])
        #expect(loadErrors("<frobnicate />") == ["test.xml:1:20: unknown policy element '<frobnicate>'"])
        #expect(loadErrors("<sql-data-source />") == ["test.xml:1:20: the policy '<sql-data-source>' is not supported by Drawbridge"])
    }

    @Test("skipUnsupportedPolicies turns it into a warning and leaves the policy out")
    func skipped() throws {
        let loader = PolicyLoader(options: PolicyLoadOptions(skipUnsupportedPolicies: true))
        let scoped = try loader.load(policies(#"<sql-data-source /><set-status code="200" />"#), file: "t.xml", scope: .api)
        #expect(scoped.statements(in: .inbound).map(\.name) == ["set-status"])
        #expect(scoped.warnings.map(\.description) == ["t.xml:1:20: warning: the policy '<sql-data-source>' is not supported by Drawbridge; skipped (skipUnsupportedPolicies)"])
    }

    @Test("all errors of a document are reported, not only the first")
    func allErrors() {
        let errors = loadErrors(#"<set-status code="x" /><nope /><set-header name="a" exists-action="b" />"#)
        #expect(errors == [
            "test.xml:1:38: invalid value 'x' for attribute 'code' of '<set-status>': expected an integer from 100 to 599",
            "test.xml:1:43: unknown policy element '<nope>'",
            "test.xml:1:87: invalid value 'b' for attribute 'exists-action' of '<set-header>': expected one of 'override', 'skip', 'append', 'delete'",
        ])
    }
}

@Suite("send-request: the proxy child")
struct SendRequestProxyChildTests {
    @Test("proxy inside send-request loads (it sends the side request through the proxy); a bad one is refused with its position")
    func proxy() throws {
        let statement = #"<send-request response-variable-name="r"><set-url>https://a</set-url><proxy url="http://proxy.example:8080" /></send-request>"#
        #expect(loadErrors(statement) == [])
        let bad = #"<send-request response-variable-name="r"><set-url>https://a</set-url><proxy url="https://proxy.example:8080" /></send-request>"#
        let errors = loadErrors(bad)
        #expect(errors.count == 1 && errors.first?.hasPrefix("test.xml:1:") == true && errors.first?.contains("http:// only") == true, "\(errors)")
    }
}

