import Foundation
import Testing

@testable import Policies

@Suite("check-header")
struct CheckHeaderPolicyTests {
    @Test("all four attributes and optional values")
    func parses() {
        let text = #"<check-header name="X-Key" failed-check-httpcode="401" failed-check-error-message="Missing key" ignore-case="true"><value>a</value><value>b</value></check-header>"#
        guard case .checkHeader(let check) = loadOne(text) else {
            Issue.record("expected check-header")
            return
        }
        #expect(check.name.constant == "X-Key")
        #expect(check.failedCheckHTTPCode.constant == 401)
        #expect(check.failedCheckErrorMessage.constant == "Missing key")
        #expect(check.ignoreCase.constant == true)
        #expect(check.values.map(\.constant) == ["a", "b"])
    }

    @Test("every missing required attribute is reported")
    func required() {
        #expect(loadErrors(#"<check-header name="X" />"#) == [
            "test.xml:1:20: '<check-header>' requires the attribute 'failed-check-httpcode'",
            "test.xml:1:20: '<check-header>' requires the attribute 'failed-check-error-message'",
            "test.xml:1:20: '<check-header>' requires the attribute 'ignore-case'",
        ])
    }
}

@Suite("ip-filter")
struct IPFilterPolicyTests {
    @Test("IPv4 and IPv6 addresses and ranges are parsed at load")
    func parses() throws {
        let text = """
            <ip-filter action="allow"><address>13.66.201.169</address><address>2001:db8::1</address>\
            <address-range from="10.0.0.0" to="10.0.255.255" /><address-range from="fe80::" to="fe80::ffff" /></ip-filter>
            """
        guard case .ipFilter(let filter) = loadOne(text) else {
            Issue.record("expected ip-filter")
            return
        }
        #expect(filter.action.constant == .allow)
        #expect(filter.addresses.map(\.description) == ["13.66.201.169", "2001:db8:0:0:0:0:0:1"])
        #expect(filter.ranges.count == 2)
        let inside = try #require(IPAddress("10.0.3.4"))
        let outside = try #require(IPAddress("10.1.0.0"))
        #expect(filter.ranges[0].contains(inside))
        #expect(!filter.ranges[0].contains(outside))
        #expect(filter.ranges[1].contains(try #require(IPAddress("fe80::ab"))))
    }

    @Test("address text forms", arguments: [
        ("0.0.0.0", true), ("255.255.255.255", true), ("256.1.1.1", false), ("1.2.3", false), ("01.2.3.4", false),
        ("1.2.3.4.5", false), ("::", true), ("::1", true), ("1::", true), ("::ffff:192.0.2.1", true),
        ("1:2:3:4:5:6:7:8", true), ("1:2:3:4:5:6:7:8:9", false), ("1::2::3", false), ("12345::", false),
        ("g::1", false), ("1:2:3:4:5:6:7::", true), (":1", false), ("", false), ("10.0.0.0/8", false),
    ])
    func addressForms(text: String, valid: Bool) {
        #expect((IPAddress(text) != nil) == valid)
    }

    @Test("errors", arguments: [
        (#"<ip-filter action="allow"><address>10.0.0.256</address></ip-filter>"#, "test.xml:1:55: invalid IP address '10.0.0.256' in '<address>'"),
        (#"<ip-filter action="allow"><address>10.0.0.0/8</address></ip-filter>"#, "test.xml:1:55: invalid IP address '10.0.0.0/8' in '<address>' (for a block of addresses use '<address-range from=\"…\" to=\"…\"/>')"),
        (#"<ip-filter action="allow"><address-range from="10.0.0.9" to="10.0.0.1" /></ip-filter>"#, "test.xml:1:67: '<address-range>' starts after it ends (10.0.0.9 > 10.0.0.1)"),
        (#"<ip-filter action="allow"><address-range from="10.0.0.1" to="::1" /></ip-filter>"#, "test.xml:1:46: '<address-range>' mixes IPv4 and IPv6 addresses"),
        (#"<ip-filter action="allow"><address-range from="x" to="10.0.0.1" /></ip-filter>"#, "test.xml:1:67: invalid IP address 'x' in attribute 'from' of '<address-range>'"),
        (#"<ip-filter action="deny"><address>1.1.1.1</address></ip-filter>"#, "test.xml:1:39: invalid value 'deny' for attribute 'action' of '<ip-filter>': expected one of 'allow', 'forbid'"),
        (#"<ip-filter action="allow" />"#, "test.xml:1:20: '<ip-filter>' requires at least one '<address>' or '<address-range>'"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("cors")
struct CORSPolicyTests {
    @Test("origins, methods with max age, headers; defaults")
    func parses() {
        let text = """
            <cors allow-credentials="true"><allowed-origins><origin>https://app.example.com/</origin><origin>http://localhost:3000</origin></allowed-origins>\
            <allowed-methods preflight-result-max-age="300"><method>get</method><method>POST</method></allowed-methods>\
            <allowed-headers><header>Content-Type</header><header>*</header></allowed-headers><expose-headers><header>X-Total</header></expose-headers></cors>
            """
        guard case .cors(let cors) = loadOne(text) else {
            Issue.record("expected cors")
            return
        }
        #expect(cors.allowCredentials == true)
        #expect(cors.terminateUnmatchedRequest == true)
        #expect(cors.allowedOrigins == [.exactly("https://app.example.com"), .exactly("http://localhost:3000")])
        #expect(cors.allowedMethods == ["GET", "POST"])
        #expect(cors.preflightResultMaxAge == 300)
        #expect(cors.allowedHeaders == ["Content-Type", "*"])
        #expect(cors.exposeHeaders == ["X-Total"])
    }

    @Test("errors", arguments: [
        (#"<cors allow-credentials="true"><allowed-origins><origin>*</origin></allowed-origins></cors>"#, "test.xml:1:76: '<cors allow-credentials=\"true\">' cannot allow the origin '*'; list the origins"),
        ("<cors><allowed-origins><origin>example.com</origin></allowed-origins></cors>", "test.xml:1:51: invalid origin 'example.com': expected '*' or a scheme and host such as 'https://example.com'"),
        ("<cors />", "test.xml:1:20: '<cors>' requires '<allowed-origins>'"),
        ("<cors><allowed-origins /></cors>", "test.xml:1:26: '<allowed-origins>' requires at least one '<origin>'"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("rate-limit-by-key and quota-by-key")
struct RateLimitPolicyTests {
    @Test("rate-limit-by-key attributes and defaults")
    func rateLimit() {
        let compiler = RecordingCompiler()
        let text = #"<rate-limit-by-key calls="10" renewal-period="60" counter-key="@(context.Request.IpAddress)" increment-condition="@(context.Response.StatusCode == 200)" retry-after-header-name="Retry-After" remaining-calls-header-name="X-Remaining" total-calls-header-name="X-Total" />"#
        guard case .rateLimitByKey(let limit) = loadOne(text, compiler: compiler) else {
            Issue.record("expected rate-limit-by-key")
            return
        }
        #expect(limit.calls.constant == 10)
        #expect(limit.renewalPeriod.constant == 60)
        #expect(limit.counterKey.expression?.source.source == "context.Request.IpAddress")
        #expect(limit.incrementCondition?.expression != nil)
        #expect(limit.incrementCount.constant == 1)
        #expect(limit.retryAfterHeaderName == "Retry-After")
        #expect(limit.remainingCallsHeaderName == "X-Remaining")
        #expect(limit.totalCallsHeaderName == "X-Total")
        #expect(limit.retryAfterVariableName == nil)
        #expect(compiler.calls.map(\.resultType) == [.string, .boolean])
    }

    @Test("quota-by-key attributes")
    func quota() {
        let text = #"<quota-by-key calls="1000" bandwidth="4096" renewal-period="3600" counter-key="k" first-period-start="2024-01-01T00:00:00Z" />"#
        guard case .quotaByKey(let quota) = loadOne(text) else {
            Issue.record("expected quota-by-key")
            return
        }
        #expect(quota.calls?.constant == 1000)
        #expect(quota.bandwidth?.constant == 4096)
        #expect(quota.renewalPeriod.constant == 3600)
        #expect(quota.counterKey.constant == "k")
        #expect(quota.firstPeriodStart == Date(timeIntervalSince1970: 1_704_067_200))
    }

    @Test("errors", arguments: [
        (#"<rate-limit-by-key calls="10" renewal-period="301" counter-key="k" />"#, "test.xml:1:66: invalid value '301' for attribute 'renewal-period' of '<rate-limit-by-key>': expected an integer from 1 to 300"),
        (#"<rate-limit-by-key calls="0" renewal-period="60" counter-key="k" />"#, "test.xml:1:46: invalid value '0' for attribute 'calls' of '<rate-limit-by-key>': expected an integer of at least 1"),
        (#"<rate-limit-by-key calls="1" renewal-period="60" />"#, "test.xml:1:20: '<rate-limit-by-key>' requires the attribute 'counter-key'"),
        (#"<quota-by-key renewal-period="60" counter-key="k" />"#, "test.xml:1:20: '<quota-by-key>' requires 'calls', 'bandwidth' or both"),
        (#"<quota-by-key calls="5" renewal-period="60" counter-key="k" first-period-start="soon" />"#, "test.xml:1:100: invalid date 'soon' for 'first-period-start': expected ISO 8601 such as '2024-01-01T00:00:00Z'"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }

    @Test("rate limiting is inbound only")
    func sections() {
        #expect(loadErrors(#"<rate-limit-by-key calls="1" renewal-period="1" counter-key="k" />"#, section: .outbound) == [
            "test.xml:1:21: the policy '<rate-limit-by-key>' is not allowed in '<outbound>'; it is allowed in '<inbound>'"
        ])
    }
}

@Suite("ip-filter matching")
struct IPFilterMatchingTests {
    @Test("listed addresses and ranges, IPv4-mapped callers compare as IPv4", arguments: [
        ("13.66.201.169", true), ("::ffff:13.66.201.169", true), ("13.66.201.170", false), ("10.0.200.1", true),
        ("::ffff:10.0.0.0", true), ("10.1.0.0", false), ("2001:db8::1", true), ("2001:db8::2", false), ("fe80::ff", true),
        ("::ffff:fe80:0", false),
    ])
    func lists(caller: String, listed: Bool) throws {
        let text = """
            <ip-filter action="forbid"><address>13.66.201.169</address><address>2001:db8::1</address>\
            <address-range from="10.0.0.0" to="10.0.255.255" /><address-range from="fe80::" to="fe80::ffff" /></ip-filter>
            """
        guard case .ipFilter(let filter) = loadOne(text) else {
            Issue.record("expected ip-filter")
            return
        }
        #expect(filter.action.constant == .forbid)
        #expect(filter.lists(try #require(IPAddress(caller))) == listed)
    }
}
