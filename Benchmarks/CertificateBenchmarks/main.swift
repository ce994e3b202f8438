// Release-mode micro-benchmarks for ClientCertificates:
//   DRAWBRIDGE_ONLY=ClientCertificates,CertificateBenchmarks swift run -c release CertificateBenchmarks [CONFORMANCE_DIR]
// 1. uncached Verify() of a 3-certificate RSA-2048 chain (PKITS ValidCertificatePathTest1) with CRL
//    checks of the whole chain; 2. the same with the verification cache warm; 3. a lookup in a
//    1,000,000-entry CRL (half hits, half misses); also the per-request X509Certificate2 parse and
//    the parse of that CRL. `--verify-only` stops after the verification figures.
//
// `--limbo-case ID[,ID...]` instead runs `certcheck` (CertificateCheck.run, as `drawbridge certcheck
// --trusted --untrusted --leaf`) on those x509-limbo cases and prints each verdict with the process
// CPU time (user + system, CLOCK_PROCESS_CPUTIME_ID) it took, e.g. for the chain-building denial-of-service cases:
//   DRAWBRIDGE_ONLY=ClientCertificates,CertificateBenchmarks swift build -c release --product CertificateBenchmarks
//   .build/release/CertificateBenchmarks /work/shared/conformance \
//       --limbo-case pathological::pathological-chain-same-subject-distinct-key
import ClientCertificates
import Foundation

let root = CommandLine.arguments.dropFirst().first { !$0.hasPrefix("--") } ?? "../shared/conformance"

if let flag = CommandLine.arguments.firstIndex(of: "--limbo-case"), flag + 1 < CommandLine.arguments.count {
    let ids = CommandLine.arguments[flag + 1].split(separator: ",").map(String.init)
    try await runLimboCases(ids, conformance: root)
    exit(0)
}

/// CPU seconds (user + system, all threads) of this process so far.
func cpuSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func runLimboCases(_ ids: [String], conformance: String) async throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: conformance + "/x509-limbo/limbo-nobettertls.json"))
    guard let suite = try JSONSerialization.jsonObject(with: data) as? [String: Any],
        let cases = suite["testcases"] as? [[String: Any]]
    else { throw CertificateLoadingError.noCertificates }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("limbo-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    for id in ids {
        guard let testCase = cases.first(where: { $0["id"] as? String == id }) else {
            print("\(id): no such case")
            continue
        }
        func write(_ name: String, _ pems: [String]) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try pems.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let trusted = try write("trusted.pem", testCase["trusted_certs"] as? [String] ?? [])
        let untrustedPEMs = testCase["untrusted_intermediates"] as? [String] ?? []
        let untrusted = try write("untrusted.pem", untrustedPEMs)
        let leaf = try write("leaf.pem", [testCase["peer_certificate"] as? String ?? ""])
        let eku = (testCase["extended_key_usage"] as? [String])?.first ?? "any"
        let request = CertificateCheckRequest(
            trustedPaths: [trusted], untrustedPaths: untrustedPEMs.isEmpty ? [] : [untrusted], leafPath: leaf,
            time: testCase["validation_time"] as? String, eku: eku)
        let start = cpuSeconds()
        let report = try await CertificateCheck.run(request)
        let spent = cpuSeconds() - start
        print("\(id) (expected \(testCase["expected_result"] as? String ?? "?")): \(report.output)")
        print(String(format: "  CPU time: %.3f s", spent))
    }
}
let verifyOnly = CommandLine.arguments.contains("--verify-only")
let pkits = root + "/pkits"

func load(_ path: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: URL(fileURLWithPath: pkits + "/" + path))) }

nonisolated func measure(_ label: String, iterations: Int, _ body: () async throws -> Void) async rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    for _ in 0..<iterations { try await body() }
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let perOperation = seconds / Double(iterations)
    let text = perOperation >= 1e-3 ? String(format: "%.3f ms", perOperation * 1e3)
        : perOperation >= 1e-6 ? String(format: "%.2f µs", perOperation * 1e6) : String(format: "%.1f ns", perOperation * 1e9)
    print("\(label): \(text) per operation (\(iterations) iterations)")
    return perOperation
}

// MARK: Verify, uncached and cached

let anchor = try X509Certificate2(derEncoded: try load("certs/TrustAnchorRootCertificate.crt"))
let ca = try X509Certificate2(derEncoded: try load("certs/GoodCACert.crt"))
let leaf = try X509Certificate2(derEncoded: try load("certs/ValidCertificatePathTest1EE.crt"))
let crls = try [
    CertificateRevocationList(derEncoded: try load("crls/TrustAnchorRootCRL.crl")),
    CertificateRevocationList(derEncoded: try load("crls/GoodCACRL.crl")),
]
let validationTime = Date(timeIntervalSince1970: 1_302_825_600)  // 2011-04-15, PKITS
let context = VerificationContext(
    trustStore: TrustStore(version: 1, roots: [anchor]),
    revocation: RevocationSources(store: try CRLStore(version: 1, crls: crls)),
    options: VerificationOptions(requiredUsage: .any, validationTime: validationTime))
// Measured off the main actor so that no executor hop is counted per iteration.
let verifyOnlyIterations = CommandLine.arguments.contains("--verify-only") ? 3000 : 300
nonisolated func verifyBenchmarks(leaf: X509Certificate2, ca: X509Certificate2, context: VerificationContext) async {
    var context = context
    let first = await leaf.verify(with: context, presented: [ca])
    guard first.isValid else { fatalError("benchmark chain does not verify: \(first.message)") }
    let presented = [ca]
    _ = await measure("Verify() uncached (RSA-2048 chain of 3, CRLs for the chain)", iterations: verifyOnlyIterations) {
        _ = await leaf.verify(with: context, presented: presented)
    }
    _ = await measure("VerifyNoRevocation() uncached", iterations: 300) {
        _ = await leaf.verifyNoRevocation(with: context, presented: presented)
    }
    context.cache = VerificationCache(capacity: 10_000)
    _ = await leaf.verify(with: context, presented: presented)
    _ = await measure("Verify() cached", iterations: 100_000) {
        _ = await leaf.verify(with: context, presented: presented)
    }
}
let leafDER = leaf.rawData
_ = try await measure("X509Certificate2(derEncoded:) of the leaf (per-request parse)", iterations: 20_000) {
    _ = try X509Certificate2(derEncoded: leafDER)
}
let (benchLeaf, benchCA, benchContext) = (leaf, ca, context)
await Task.detached { await verifyBenchmarks(leaf: benchLeaf, ca: benchCA, context: benchContext) }.value

// MARK: 1,000,000-entry CRL
if verifyOnly { exit(0) }

/// Minimal DER writer for a synthetic CRL (the signature is not checked by a lookup).
func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [tag]
    let count = content.count
    if count < 0x80 {
        out.append(UInt8(count))
    } else {
        var length: [UInt8] = []
        var remaining = count
        while remaining > 0 { length.insert(UInt8(remaining & 0xFF), at: 0); remaining >>= 8 }
        out.append(0x80 | UInt8(length.count))
        out += length
    }
    return out + content
}

func serialBytes(_ value: UInt64) -> [UInt8] {
    var bytes = withUnsafeBytes(of: value.bigEndian, Array.init)
    while bytes.count > 1, bytes[0] == 0, bytes[1] < 0x80 { bytes.removeFirst() }
    if bytes[0] >= 0x80 { bytes.insert(0, at: 0) }
    return bytes
}

let entryCount = 1_000_000
let time = tlv(0x17, Array("250101000000Z".utf8))
var entries: [UInt8] = []
entries.reserveCapacity(entryCount * 24)
for index in 0..<entryCount {
    // Spread serials like a real CA's random 8-byte serials.
    let serial = UInt64(index) &* 0x9E37_79B9_7F4A_7C15
    entries += tlv(0x30, tlv(0x02, serialBytes(serial)) + time)
}
let algorithm = tlv(0x30, tlv(0x06, [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]))
let issuerName = tlv(0x30, tlv(0x31, tlv(0x30, tlv(0x06, [0x55, 0x04, 0x03]) + tlv(0x0C, Array("Bench CA".utf8)))))
let crlNumber = tlv(0xA0, tlv(0x30, tlv(0x30, tlv(0x06, [0x55, 0x1D, 0x14]) + tlv(0x04, tlv(0x02, [1])))))
let tbs = tlv(0x30, tlv(0x02, [1]) + algorithm + issuerName + time + tlv(0x17, Array("350101000000Z".utf8)) + tlv(0x30, entries) + crlNumber)
let crlDER = tlv(0x30, tbs + algorithm + tlv(0x03, [0, 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]))

let parseClock = ContinuousClock()
let parseStart = parseClock.now
let bigCRL = try CertificateRevocationList(derEncoded: crlDER)
print("parse of a \(bigCRL.revokedCount)-entry CRL (\(crlDER.count / 1_048_576) MiB): \(parseClock.now - parseStart)")

// Probes in one flat buffer (stride 9) so the loop measures the lookup, not 1M scattered arrays.
var flat: [UInt8] = []
var lengths: [Int] = []
flat.reserveCapacity(entryCount * 9)
for index in 0..<1_000_000 {
    let value = UInt64((index &* 7919) % entryCount)
    // even probes hit, odd probes miss (serial + 1 is not in the list)
    let bytes = serialBytes((value &* 0x9E37_79B9_7F4A_7C15) &+ UInt64(index & 1))
    flat += bytes + [UInt8](repeating: 0, count: 9 - bytes.count)
    lengths.append(bytes.count)
}
/// Locals only: top-level globals in main.swift carry access checks that would dominate.
func lookupAll(_ crl: CertificateRevocationList, _ flat: [UInt8], _ lengths: [Int]) -> (hits: Int, seconds: Double) {
    var hits = 0
    let clock = ContinuousClock()
    let start = clock.now
    for index in 0..<lengths.count {
        let offset = index * 9
        if crl.entry(forSerial: flat[offset..<offset + lengths[index]]) != nil { hits += 1 }
    }
    let elapsed = clock.now - start
    return (hits, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}
let (hits, lookupSeconds) = lookupAll(bigCRL, flat, lengths)
let perLookup = lookupSeconds / Double(lengths.count)
print(String(format: "lookup in a 1,000,000-entry CRL: %.1f ns per lookup (%d lookups, %d hits)", perLookup * 1e9, lengths.count, hits))
print("goal ≤ 1 µs per lookup: \(perLookup <= 1e-6 ? "met" : "NOT met")")
