import Testing

@testable import PolicyExpressions

/// `CompiledExpression.uses`: what the binder resolved, which the policy pipeline uses to decide
/// body buffering and certificate verification (instead of searching the source text).
@Suite struct ExpressionUsesTests {
    @Test func seedConditionReportsCertificateMembersAndPaths() throws {
        let compiled = try TestContext.compiler.compile(
            #"context.Request.Certificate == null || !context.Request.Certificate.Verify() || context.Request.Certificate.Thumbprint != "AB""#)
        let uses = compiled.uses
        #expect(uses.uses("X509Certificate2", "Verify"))
        #expect(uses.uses("X509Certificate2", "Thumbprint"))
        #expect(!uses.uses("X509Certificate2", "VerifyNoRevocation"))
        #expect(uses.contextPaths.contains("context.Request.Certificate"))
        #expect(uses.contextPaths.contains("context.Request.Certificate.Verify()"))
    }

    @Test func wordsInLiteralsAreNotUses() throws {
        let compiled = try TestContext.compiler.compile(#""Body Verify() context.Request.Body""#)
        #expect(compiled.uses.members.isEmpty)
        #expect(compiled.uses.contextPaths.isEmpty)
    }

    @Test func usesInsideLambdasAndBlocksAreSeen() throws {
        let lambda = try TestContext.compiler.compile(#"context.Request.Headers.Any(h => h.Key == "X")"#)
        #expect(lambda.uses.contextPaths.contains("context.Request.Headers"))
        let block = try TestContext.compiler.compile(
            #"{ var c = context.Request.Certificate; if (c == null) { return false; } return c.VerifyNoRevocation(); }"#, kind: .block)
        #expect(block.uses.uses("X509Certificate2", "VerifyNoRevocation"))
        // Called on a local, not on a `context` path: a member use without a path.
        #expect(!block.uses.contextPaths.contains { $0.hasSuffix("VerifyNoRevocation()") })
    }

    @Test func unionCombines() throws {
        let a = try TestContext.compiler.compile("context.Request.Method").uses
        let b = try TestContext.compiler.compile("context.Request.Certificate.Verify()").uses
        let both = a.union(b)
        #expect(both.members == a.members.union(b.members))
        #expect(both.contextPaths == a.contextPaths.union(b.contextPaths))
        #expect(both.uses("X509Certificate2", "Verify"))
    }
}
