import Foundation
import Synchronization
import Testing

@testable import Policies

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let now = Mutex(Date(timeIntervalSince1970: 1_780_000_000))
    func read() -> Date { now.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite struct CacheValuePolicyRuntimeTests {
    /// Stores `X-Value` under `X-Key` when both are sent; answers with what a lookup found.
    static let xml = document(inbound: """
        <choose>
            <when condition="@(context.Request.Headers.ContainsKey("X-Store"))">
                <cache-store-value key="@(context.Request.Headers.GetValueOrDefault("X-Key", ""))" value="@(context.Request.Headers.GetValueOrDefault("X-Store", ""))" duration="60" />
            </when>
            <when condition="@(context.Request.Headers.ContainsKey("X-Remove"))">
                <cache-remove-value key="@(context.Request.Headers.GetValueOrDefault("X-Key", ""))" />
            </when>
        </choose>
        <cache-lookup-value key="@(context.Request.Headers.GetValueOrDefault("X-Key", ""))" variable-name="found" />
        <return-response>
            <set-status code="200" />
            <set-body>@(context.Variables.ContainsKey("found") ? "hit:" + (string)context.Variables["found"] : "miss")</set-body>
        </return-response>
        """)

    func send(_ pipeline: PolicyPipeline, _ headers: [PolicyHeader]) async -> String? {
        await pipeline.run(request(headers: headers), backend: RecordingBackend()).bodyText
    }

    @Test func storeLookupRemoveAcrossRequests() async throws {
        let cache = InternalPolicyCache()
        let built = try pipeline(Self.xml, options: PolicyPipelineOptions(cache: cache))
        #expect(await send(built, [PolicyHeader("X-Key", "user-1")]) == "miss")
        #expect(await send(built, [PolicyHeader("X-Key", "user-1"), PolicyHeader("X-Store", "Ada")]) == "hit:Ada")
        #expect(await send(built, [PolicyHeader("X-Key", "user-1")]) == "hit:Ada")
        #expect(await send(built, [PolicyHeader("X-Key", "user-2")]) == "miss")
        #expect(await send(built, [PolicyHeader("X-Key", "user-1"), PolicyHeader("X-Remove", "1")]) == "miss")
        #expect(await send(built, [PolicyHeader("X-Key", "user-1")]) == "miss")
    }

    @Test func entriesSurviveARebuiltPipelineSharingTheCache() async throws {
        let cache = InternalPolicyCache()
        let first = try pipeline(Self.xml, options: PolicyPipelineOptions(cache: cache))
        _ = await send(first, [PolicyHeader("X-Key", "k"), PolicyHeader("X-Store", "kept")])
        let reloaded = try pipeline(Self.xml, options: PolicyPipelineOptions(cache: cache))
        #expect(await send(reloaded, [PolicyHeader("X-Key", "k")]) == "hit:kept")
    }

    @Test func entriesExpireAfterTheirDuration() async throws {
        let clock = ManualClock()
        let cache = InternalPolicyCache(clock: { clock.read() })
        let built = try pipeline(Self.xml, options: PolicyPipelineOptions(cache: cache))
        _ = await send(built, [PolicyHeader("X-Key", "k"), PolicyHeader("X-Store", "v")])
        clock.advance(59)
        #expect(await send(built, [PolicyHeader("X-Key", "k")]) == "hit:v")
        clock.advance(1)
        #expect(await send(built, [PolicyHeader("X-Key", "k")]) == "miss")
        #expect(cache.usage.entries == 0)
    }

    @Test func defaultValueOnMissAndTypedValues() async throws {
        let xml = document(inbound: """
            <cache-store-value key="n" value="@(41 + 1)" duration="30" />
            <cache-lookup-value key="n" variable-name="n" />
            <cache-lookup-value key="absent" variable-name="d" default-value="@(7)" />
            <return-response><set-body>@(((int)context.Variables["n"] + (int)context.Variables["d"]).ToString())</set-body></return-response>
            """)
        let (result, _) = try await execute(xml)
        #expect(result.bodyText == "49")
    }

    @Test func aCachedJSONObjectIsACopy() async throws {
        // A request changing the object it stored (or looked up) must not change the cached one.
        let xml = document(inbound: """
            <set-variable name="o" value="@(new JObject(new JProperty("name", "Ada")))" />
            <cache-store-value key="profile" value="@((JObject)context.Variables["o"])" duration="30" />
            <set-variable name="changed" value="@{ var o = (JObject)context.Variables["o"]; o["name"] = "Grace"; return "x"; }" />
            <cache-lookup-value key="profile" variable-name="p" />
            <set-variable name="changed2" value="@{ var p = (JObject)context.Variables["p"]; p["name"] = "Linus"; return "y"; }" />
            <cache-lookup-value key="profile" variable-name="q" />
            <return-response><set-body>@(((JObject)context.Variables["q"])["name"].ToString())</set-body></return-response>
            """)
        let (result, _) = try await execute(xml)
        #expect(result.bodyText == "Ada")
    }

    @Test func aCachedByteArrayIsACopy() async throws {
        // byte[] is mutable in expressions: changing the array stored (or one looked up) must not
        // change the cached elements.
        let xml = document(inbound: """
            <set-variable name="b" value="@(new byte[] { 1, 2, 3 })" />
            <cache-store-value key="bytes" value="@((byte[])context.Variables["b"])" duration="30" />
            <set-variable name="changed" value="@{ var b = (byte[])context.Variables["b"]; b[0] = 9; return "x"; }" />
            <cache-lookup-value key="bytes" variable-name="p" />
            <set-variable name="changed2" value="@{ var p = (byte[])context.Variables["p"]; p[1] = 9; return "y"; }" />
            <cache-lookup-value key="bytes" variable-name="q" />
            <return-response><set-body>@(BitConverter.ToString((byte[])context.Variables["q"]) + " " + BitConverter.ToString((byte[])context.Variables["b"]))</set-body></return-response>
            """)
        let (result, _) = try await execute(xml)
        #expect(result.bodyText == "01-02-03 09-02-03")
    }

    @Test func aListCannotBeCached() async throws {
        let xml = document(inbound: """
            <cache-store-value key="l" value="@(new List<string> { "a" })" duration="30" />
            """)
        let (result, _) = try await execute(xml)
        #expect(result.status == 500)
        #expect(result.lastError?.reason == "CacheValueNotSupported")
        #expect(result.lastError?.source == "cache-store-value")
    }

    @Test func externalCachingTypeNeedsAnExternalCache() throws {
        let xml = "<policies><inbound>\n  <cache-lookup-value key=\"k\" variable-name=\"v\" caching-type=\"external\" />\n</inbound></policies>"
        #expect(throws: PolicyPipelineError.self) { try pipeline(xml) }
        do {
            _ = try pipeline(xml)
        } catch {
            #expect("\(error)".contains("test.xml:2:3"))
            #expect("\(error)".contains("needs an external cache"))
        }
        // internal and prefer-external load on the internal cache.
        _ = try pipeline(document(inbound: "<cache-lookup-value key=\"k\" variable-name=\"v\" caching-type=\"internal\" />"))
    }

    @Test func loadErrorsNameTheAttribute() {
        #expect(loadErrors("<cache-lookup-value key=\"k\" />").contains { $0.contains("requires the attribute 'variable-name'") })
        #expect(loadErrors("<cache-store-value key=\"k\" value=\"v\" />").contains { $0.contains("requires the attribute 'duration'") })
        #expect(loadErrors("<cache-store-value key=\"k\" value=\"v\" duration=\"-1\" />").contains { $0.contains("duration") })
        #expect(loadErrors("<cache-remove-value key=\"k\" caching-type=\"redis\" />").contains { $0.contains("caching-type") })
    }
}

@Suite struct InternalPolicyCacheTests {
    @Test func leastRecentlyUsedGoesFirstWhenFull() {
        let cache = InternalPolicyCache(maximumBytes: 3 * (1 + 16 + 100 + 64))
        let value = PolicyCacheItem.value(.string(String(repeating: "x", count: 100)))
        cache.storeNow("a", value, duration: 60)
        cache.storeNow("b", value, duration: 60)
        cache.storeNow("c", value, duration: 60)
        #expect(cache.lookupNow("a") != nil)  // a is now the most recent
        cache.storeNow("d", value, duration: 60)  // evicts b
        #expect(cache.lookupNow("b") == nil)
        #expect(cache.lookupNow("a") != nil && cache.lookupNow("c") != nil && cache.lookupNow("d") != nil)
        #expect(cache.usage.entries == 3)
        #expect(cache.usage.bytes <= cache.maximumBytes)
    }

    @Test func boundedWhateverIsStored() {
        let cache = InternalPolicyCache(maximumBytes: 10_000)
        for i in 0..<5_000 {
            cache.storeNow("key-\(i)", .value(.string(String(repeating: "y", count: i % 300))), duration: 60)
            #expect(cache.usage.bytes <= 10_000)
        }
        // An item larger than the whole cache is refused (and replaces nothing).
        cache.storeNow("huge", .bytes([UInt8](repeating: 1, count: 20_000)), duration: 60)
        #expect(cache.lookupNow("huge") == nil)
        for i in 0..<5_000 { cache.removeNow("key-\(i)") }
        #expect(cache.usage.bytes == 0)
        #expect(cache.usage.entries == 0)
    }

    @Test func replacingAKeyKeepsTheAccountRight() {
        let cache = InternalPolicyCache(maximumBytes: 1_000)
        for i in 0..<100 { cache.storeNow("same", .value(.string(String(i))), duration: 60) }
        #expect(cache.usage.entries == 1)
        if case .value(.string(let text))? = cache.lookupNow("same") { #expect(text == "99") } else { Issue.record("missing") }
        cache.storeNow("same", .value(.null), duration: 0)  // duration 0 removes
        #expect(cache.usage.bytes == 0)
    }
}
