import Testing

@testable import Gateway

/// Backend URLs split by hand, and URLs on a known target's origin taken without a second split:
/// both must agree with the general parser (URLComponents).
struct BackendTargetTests {
    static func same(_ a: BackendTarget?, _ b: BackendTarget?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.scheme == b.scheme && a.host == b.host && a.port == b.port && a.requestTarget == b.requestTarget
            && a.basePath == b.basePath && a.hostHeader == b.hostHeader
    }

    @Test("the hand split agrees with URLComponents", arguments: [
        "http://127.0.0.1:8081", "http://127.0.0.1:8081/", "https://api.example.com/v1/orders?id=7",
        "http://backend/a/b/", "https://backend:443/x", "http://backend:80?q=1",
    ])
    func plainAgrees(url: String) throws {
        let plain = try #require(BackendTarget(plain: url))
        #expect(Self.same(plain, BackendTarget(url)))
        #expect(plain.origin.count < url.count || plain.origin == url)
    }

    @Test("a URL on the API's origin is taken without a second split", arguments: [
        "http://127.0.0.1:8081/echo/a?b=1", "http://127.0.0.1:8081", "http://127.0.0.1:8081/", "http://127.0.0.1:8081?x=1",
        "http://127.0.0.1:8081/base/",
    ])
    func sameOrigin(url: String) throws {
        let api = try #require(BackendTarget(plain: "http://127.0.0.1:8081/base"))
        let reused = try #require(api.onSameOrigin(url))
        #expect(Self.same(reused, BackendTarget(plain: url)), "\(url)")
    }

    @Test("other origins, fragments and longer ports are split again", arguments: [
        "http://127.0.0.1:80810/x", "http://127.0.0.1:8081#f", "https://127.0.0.1:8081/x", "http://127.0.0.10:8081/",
        "http://127.0.0.1:8081@evil/", "http://127.0.0.1:8081/a#frag",
    ])
    func otherOrigins(url: String) throws {
        let api = try #require(BackendTarget(plain: "http://127.0.0.1:8081"))
        #expect(api.onSameOrigin(url) == nil, "\(url)")
    }
}
