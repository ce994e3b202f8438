import Foundation
import Testing

@testable import Policies
@testable import PolicyExpressions

/// A pipeline whose expression declares a recursive local function: after it has run and is
/// dropped (as a reload drops the previous configuration's pipelines), the function and its
/// compiled closures are gone — they used to keep each other alive, one leak per reload.
@Suite struct LocalFunctionPipelineLifetimeTests {
    /// The gateway's compiler, remembering weak references to the local functions it compiled.
    final class Recording: PolicyExpressionCompiling, @unchecked Sendable {
        let inner = ContextExpressionCompiler()
        var references: [WeakReference] = []
        func compile(_ expression: PolicyExpressionSource, expecting resultType: PolicyExpressionResultType) throws -> any CompiledPolicyExpression {
            let compiled = try inner.compile(expression, expecting: resultType)
            if let context = compiled as? ContextCompiledExpression { references += context.compiled.localFunctionReferences }
            return compiled
        }
    }

    @Test func theFunctionsOfADroppedPipelineAreFreed() async throws {
        let recording = Recording()
        var pipeline: PolicyPipeline? = try PolicyPipeline(EffectivePolicy.merge([
            PolicyLoader(options: PolicyLoadOptions(), compiler: recording).load(document(inbound: """
                <return-response><set-body>@{
                    int Fib(int n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2);
                    return Fib(10).ToString();
                }</set-body></return-response>
                """), file: "recursive.xml", scope: .api, fragments: PolicyFragments()),
        ]))
        let result = await try #require(pipeline).run(request(), body: nil, backend: RecordingBackend())
        #expect(result.bodyText == "55")
        #expect(recording.references.count == 1 && recording.references.allSatisfy { $0.object != nil })
        pipeline = nil
        #expect(recording.references.allSatisfy { $0.object == nil }, "the compiled local function outlived its pipeline")
    }
}
