import Foundation
import Testing

@testable import Policies

/// Policies whose runtime lives in their own file compile to their own step type, dispatched
/// through `CompiledStep.Action.synchronous` and run on the synchronous path.
@Suite struct PolicyStepTests {
    @Test func policiesCompileToTheirOwnSteps() throws {
        let built = try pipeline(document(inbound: """
            <set-status code="201" />
            <set-header name="X-A" exists-action="override"><value>1</value></set-header>
            <set-query-parameter name="q" exists-action="override"><value>1</value></set-query-parameter>
            <set-body>text</set-body>
            <set-variable name="v" value="1" />
            <set-method>POST</set-method>
            <rewrite-uri template="/x" />
            <check-header name="Accept" failed-check-httpcode="401" failed-check-error-message="no" ignore-case="true" />
            <ip-filter action="allow"><address>10.0.0.5</address></ip-filter>
            <trace source="s">m</trace>
            <mock-response status-code="200" content-type="text/plain" />
            """))
        let expected: [any SynchronousPolicyStep.Type] = [
            SetStatusPolicy.Step.self, SetHeaderPolicy.Step.self, SetQueryParameterPolicy.Step.self, SetBodyPolicy.Step.self,
            SetVariablePolicy.Step.self, SetMethodPolicy.Step.self, RewriteURIPolicy.Step.self, CheckHeaderPolicy.Step.self,
            IPFilterPolicy.Step.self, TracePolicy.Step.self, MockResponsePolicy.Step.self,
        ]
        let steps = built.sections[.inbound] ?? []
        #expect(steps.count == expected.count)
        for (step, type) in zip(steps, expected) {
            guard case .synchronous(let policy) = step.action else {
                Issue.record("\(step.name) is not dispatched to its own step")
                continue
            }
            #expect(ObjectIdentifier(Swift.type(of: policy)) == ObjectIdentifier(type), "\(step.name)")
            #expect(step.runsSynchronously)
        }
        // And they run: the mock response ends inbound with its status.
        #expect(built.inboundRunsSynchronously)
        guard case .respond(let result) = built.startSynchronously(request(headers: [PolicyHeader("Accept", "*/*")])) else {
            Issue.record("expected the mock response")
            return
        }
        #expect(result.status == 200)
        #expect(result.header("Content-Type") == "text/plain")
    }

    @Test func responseBackendCorsAndCertificateStepsToo() throws {
        let options = PolicyPipelineOptions(backends: ["orders": try #require(URL(string: "https://orders.internal/v3"))])
        let built = try pipeline(document(inbound: """
            <cors><allowed-origins><origin>*</origin></allowed-origins></cors>
            <set-backend-service base-url="https://other.example/api" />
            <set-backend-service backend-id="orders" />
            <authentication-certificate thumbprint="0123456789ABCDEF0123456789ABCDEF01234567" />
            <return-response><set-status code="418" reason="Teapot" /></return-response>
            """), options: options)
        let expected: [any SynchronousPolicyStep.Type] = [
            CORSPolicy.Step.self, SetBackendServicePolicy.BaseURLStep.self, SetBackendServicePolicy.BackendIDStep.self,
            AuthenticationCertificatePolicy.Step.self, ReturnResponsePolicy.Step.self,
        ]
        let steps = built.sections[.inbound] ?? []
        #expect(steps.count == expected.count)
        for (step, type) in zip(steps, expected) {
            guard case .synchronous(let policy) = step.action else {
                Issue.record("\(step.name) is not dispatched to its own step")
                continue
            }
            #expect(ObjectIdentifier(Swift.type(of: policy)) == ObjectIdentifier(type), "\(step.name)")
        }
        // The certificate is not uploaded: the run fails at authentication-certificate, before return-response.
        guard case .respond(let result) = built.startSynchronously(request()) else {
            Issue.record("expected a response")
            return
        }
        #expect(result.lastError?.reason == "CertificateNotFound")
    }

    @Test func counterPoliciesHaveTheirOwnStepsToo() throws {
        let built = try pipeline(document(inbound: """
            <rate-limit-by-key calls="5" renewal-period="60" counter-key="k" />
            <quota-by-key calls="5" renewal-period="3600" counter-key="k" />
            """))
        let types = (built.sections[.inbound] ?? []).map { step -> ObjectIdentifier? in
            if case .synchronous(let policy) = step.action { return ObjectIdentifier(Swift.type(of: policy)) }
            return nil
        }
        #expect(types == [ObjectIdentifier(RateLimitByKeyPolicy.Step.self), ObjectIdentifier(QuotaByKeyPolicy.Step.self)])
    }

    @Test func waitingPoliciesHaveTheirOwnSteps() throws {
        let built = try pipeline(document(inbound: """
            <validate-client-certificate validate-revocation="false" />
            <send-request mode="new" response-variable-name="r"><set-url>https://x.example/</set-url></send-request>
            <limit-concurrency key="k" max-count="1"><set-variable name="v" value="1" /></limit-concurrency>
            <retry condition="@(false)" count="1" interval="0"><set-variable name="w" value="1" /></retry>
            """))
        let steps = built.sections[.inbound] ?? []
        let types = steps.map { step -> ObjectIdentifier? in
            if case .waiting(let policy) = step.action { return ObjectIdentifier(Swift.type(of: policy)) }
            return nil
        }
        #expect(types == [
            ObjectIdentifier(ValidateClientCertificatePolicy.Step.self), ObjectIdentifier(SendRequestPolicy.Step.self),
            ObjectIdentifier(LimitConcurrencyPolicy.Step.self), ObjectIdentifier(RetryPolicy.Step.self),
        ])
        // Nested statements are seen through the steps (load-time decisions look inside them).
        #expect(steps[2].contains { $0.name == "set-variable" })
        #expect(steps[3].contains { $0.name == "set-variable" })
        #expect(built.buffersRequestBody)
        #expect(steps.allSatisfy { !$0.runsSynchronously })
        #expect(built.inboundRunsSynchronously == false)
    }
}
