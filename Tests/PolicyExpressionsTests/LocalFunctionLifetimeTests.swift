import Testing
@testable import PolicyExpressions

/// A recursive local function referred to itself through its compiled body: the closures formed a
/// reference cycle and every reload leaked the compiled expression's functions.
@Suite struct LocalFunctionLifetimeTests {
    static let sources = [
        "int F(int n) => n <= 0 ? 0 : F(n - 1) + 1; return F(10);",
        "int A(int n) => n <= 0 ? 0 : B(n - 1) + 1; int B(int n) => n <= 0 ? 0 : A(n - 1) + 1; return A(10);",
        "int Outer(int n) { int Inner(int k) => k <= 0 ? 0 : Inner(k - 1) + 1; return Inner(n); } return Outer(10);",
    ]

    @Test(arguments: sources)
    func recursiveLocalFunctionsAreFreedWithTheExpression(source: String) throws {
        var references: [WeakReference] = []
        do {
            let compiled = try TestContext.compiler.compile(source, kind: .block)
            #expect(try compiled.evaluate(context: TestContext.make()).intValue == 10)
            references = compiled.localFunctionReferences
            #expect(!references.isEmpty)
            #expect(references.allSatisfy { $0.object != nil })
        }
        // The compiled expression is gone: so must be every function it declared.
        #expect(references.allSatisfy { $0.object == nil })
    }
}
