import Foundation
import PolicyExpressions

/// `cors`: answers preflight requests itself and adds the CORS headers to the response of allowed
/// cross-origin requests. Unmatched requests end with an empty 200 when `terminate-unmatched-request`
/// is true (the default), else go on without CORS headers.
extension PolicyExecution {
    func cors(_ policy: CORSPolicy) -> Flow {
        guard let origin = HeaderList.values(state.requestHeaders, "Origin").first else { return .proceed }
        let originAllowed = policy.allowedOrigins.contains { allowed in
            switch allowed {
            case .any: return true
            case .exactly(let text): return text.caseInsensitiveCompare(origin) == .orderedSame
            }
        }
        let allowOrigin = policy.allowedOrigins.contains(.any) && !policy.allowCredentials ? "*" : origin
        let methods = policy.allowedMethods.isEmpty ? ["GET", "POST"] : policy.allowedMethods
        let isPreflight = state.method == "OPTIONS" && !HeaderList.values(state.requestHeaders, "Access-Control-Request-Method").isEmpty
        if isPreflight {
            let method = HeaderList.values(state.requestHeaders, "Access-Control-Request-Method").first?.trimmingCharacters(in: .whitespaces) ?? ""
            let requested = HeaderList.values(state.requestHeaders, "Access-Control-Request-Headers")
                .flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let methodAllowed = methods.contains("*") || methods.contains { $0.caseInsensitiveCompare(method) == .orderedSame }
            let headersAllowed = policy.allowedHeaders.contains("*") || requested.allSatisfy { header in
                policy.allowedHeaders.contains { $0.caseInsensitiveCompare(header) == .orderedSame }
            }
            guard originAllowed, methodAllowed, headersAllowed else {
                state.record(.info, "cors: preflight not matched")
                return policy.terminateUnmatchedRequest ? endEmpty() : .proceed
            }
            var headers = [PolicyHeader("Access-Control-Allow-Origin", allowOrigin)]
            if policy.allowCredentials { headers.append(PolicyHeader("Access-Control-Allow-Credentials", "true")) }
            headers.append(PolicyHeader("Access-Control-Allow-Methods", methods.contains("*") ? method : methods.joined(separator: ",")))
            if !requested.isEmpty {
                headers.append(PolicyHeader("Access-Control-Allow-Headers", policy.allowedHeaders.contains("*") ? requested.joined(separator: ",") : policy.allowedHeaders.joined(separator: ",")))
            }
            if let maxAge = policy.preflightResultMaxAge { headers.append(PolicyHeader("Access-Control-Max-Age", String(maxAge))) }
            if allowOrigin != "*" { headers.append(PolicyHeader("Vary", "Origin")) }
            state.record(.info, "cors: preflight answered")
            _ = endEmpty()
            state.responseHeaders = headers
            return .stop
        }
        guard originAllowed else {
            state.record(.info, "cors: origin not allowed")
            return policy.terminateUnmatchedRequest ? endEmpty() : .proceed
        }
        extraResponseHeaders.append(PolicyHeader("Access-Control-Allow-Origin", allowOrigin))
        if policy.allowCredentials { extraResponseHeaders.append(PolicyHeader("Access-Control-Allow-Credentials", "true")) }
        if !policy.exposeHeaders.isEmpty {
            extraResponseHeaders.append(PolicyHeader("Access-Control-Expose-Headers", policy.exposeHeaders.joined(separator: ",")))
        }
        if allowOrigin != "*" { extraResponseHeaders.append(PolicyHeader("Vary", "Origin")) }
        return .proceed
    }

    private func endEmpty() -> Flow {
        state.status = 200
        state.reason = "OK"
        state.responseHeaders = []
        state.responseBody = MessageBodyObject([])
        state.backendBody = nil
        return .stop
    }
}
