import Foundation
import PolicyExpressions

/// `<cache-store duration="seconds" [cache-response="false"]/>` (outbound): keeps the response for
/// the `cache-lookup` that ran inbound (nothing to do without one: not a GET, a private request, or
/// a response that came from the cache). Only `200 OK` is stored unless `cache-response` is true.
/// The body is buffered for it (within the pipeline's body limit; the cache's own byte bound
/// applies). With `downstream-caching-type` private or public, the response says so in `Cache-Control`.
public struct CacheStorePolicy: Sendable, PolicyDefinition {
    public let duration: PolicyParameter<Int>
    public let cacheResponse: PolicyParameter<Bool>

    static let schema = PolicySchema(
        "cache-store", sections: [.outbound],
        attributes: [
            PolicyAttributeSpec("duration", .integer(0...Int(Int32.max)), required: true),
            PolicyAttributeSpec("cache-response", .boolean, default: "false"),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let duration = reader.integer("duration"), let cacheResponse = reader.boolean("cache-response") else { return nil }
        return .cacheStore(CacheStorePolicy(duration: duration, cacheResponse: cacheResponse))
    }
}

// MARK: Run

extension CacheStorePolicy {
    struct Step: WaitingPolicyStep {
        let duration: RuntimeParameter<Int>
        let cacheResponse: RuntimeParameter<Bool>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let seconds = try execution.int(duration, step, in: 0...Int(Int32.max))
            let always = try execution.bool(cacheResponse, step)
            guard let lookup = execution.responseCache else {
                execution.state.record(.info, "no cache-lookup for this request: nothing stored")
                return .proceed
            }
            let state = execution.state
            if let control = lookup.cacheControl(maxAge: seconds) { HeaderList.set(&state.responseHeaders, "Cache-Control", control) }
            guard always || state.status == 200 else {
                state.record(.info, "status \(state.status) is not stored (cache-response is false)")
                return .proceed
            }
            let response = CachedResponse(
                status: state.status, reason: state.reason, headers: state.responseHeaders, body: execution.sectionBody() ?? [],
                expires: Date().addingTimeInterval(TimeInterval(min(seconds, InternalPolicyCache.maximumDuration))))
            await execution.options.cache.store(lookup.key, .response(response), duration: seconds)
            state.record(.info, "response stored for \(seconds) s")
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any WaitingPolicyStep)? {
        compiler.readsMessageBody()
        guard let duration = compiler.parameter(duration), let cacheResponse = compiler.parameter(cacheResponse) else { return nil }
        return Step(duration: duration, cacheResponse: cacheResponse)
    }
}
