// swift-tools-version:6.1
import PackageDescription

// The path of a request, module by module:
//   Gateway (listener → TLS/hostname → HTTP → route) → Policies (pipeline) → Gateway (backend)
// PolicyExpressions and ClientCertificates know nothing about sockets.

let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

var targets: [Target] = [
    .target(
        name: "PolicyExpressions",
        dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto")],
        swiftSettings: swiftSettings),
    .target(
        name: "ClientCertificates",
        dependencies: [
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ],
        swiftSettings: swiftSettings),
    .target(
        name: "Policies",
        dependencies: [
            "PolicyExpressions", "ClientCertificates",
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
            // GraphQL APIs (validate-graphql-request, synthetic resolvers): the reference implementation's port parses
            // documents and SDL, builds schemas, validates and executes with our resolvers, so no GraphQL parser or
            // executor of our own. Its one dependency, swift-collections, is already in the graph (swift-nio).
            .product(name: "GraphQL", package: "GraphQL"),
            // The ordered dictionaries of GraphQL's `Map` (variables, results).
            .product(name: "OrderedCollections", package: "swift-collections"),
        ],
        swiftSettings: swiftSettings),
    .target(
        name: "GatewayConfiguration",
        dependencies: [
            "Policies", "ClientCertificates",
            .product(name: "Yams", package: "Yams"),
        ],
        swiftSettings: swiftSettings),
    .target(
        name: "Gateway",
        dependencies: [
            "GatewayConfiguration", "Policies", "ClientCertificates", "PolicyExpressions",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            .product(name: "NIOHPACK", package: "swift-nio-http2"),
            .product(name: "NIOExtras", package: "swift-nio-extras"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            // Operations: metrics through the swift-metrics API, exported by swift-prometheus;
            // latency histograms are lock-free (Atomics) so the hot path costs atomic adds only.
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Atomics", package: "swift-atomics"),
            // Span export to an OpenTelemetry collector (OTLP/HTTP), only with the `OTel` trait
            // (`swift build --traits OTel`): swift-otel adds 33–37 MB and 4–13 % build CPU (README, Operations).
            .product(name: "OTel", package: "swift-otel", condition: .when(traits: ["OTel"])),
            .product(name: "Tracing", package: "swift-distributed-tracing", condition: .when(traits: ["OTel"])),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle", condition: .when(traits: ["OTel"])),
        ],
        swiftSettings: swiftSettings),
    // The configuration store: resources as JSON documents, audit records and admin tokens behind a
    // protocol (PostgreSQL can follow); embedded SQLite (sqlite-nio, its own amalgamation) by default.
    .target(
        name: "ConfigurationStore",
        dependencies: [
            .product(name: "SQLiteNIO", package: "sqlite-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
        ],
        swiftSettings: swiftSettings),
    // The same store protocol on PostgreSQL (postgres-nio), for gateways sharing one configuration.
    .target(
        name: "ConfigurationStorePostgres",
        dependencies: [
            "ConfigurationStore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings),
    // The management plane: store documents ⇄ GatewayConfig, validation as `check`, live reload, and
    // the admin REST API served under /admin on the operations listener.
    .target(
        name: "GatewayAdmin",
        dependencies: [
            "ConfigurationStore", "Gateway", "GatewayConfiguration", "ClientCertificates",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings),
    .executableTarget(
        name: "drawbridge",
        dependencies: [
            "Gateway", "GatewayConfiguration", "Policies", "ClientCertificates", "PolicyExpressions",
            "ConfigurationStore", "ConfigurationStorePostgres", "GatewayAdmin",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ],
        swiftSettings: swiftSettings),
    // Offline runner for the public X.509 conformance suites (../shared/conformance).
    .executableTarget(
        name: "ConformanceRunner",
        dependencies: ["ClientCertificates"],
        swiftSettings: swiftSettings),
    // Release-mode micro-benchmarks: `swift run -c release <name>` prints figures.
    .executableTarget(
        name: "ExpressionBenchmarks",
        dependencies: ["PolicyExpressions"],
        path: "Benchmarks/ExpressionBenchmarks",
        swiftSettings: swiftSettings),
    .executableTarget(
        name: "PolicyBenchmarks",
        dependencies: ["Policies"],
        path: "Benchmarks/PolicyBenchmarks",
        swiftSettings: swiftSettings),
    .executableTarget(
        name: "CertificateBenchmarks",
        dependencies: ["ClientCertificates"],
        path: "Benchmarks/CertificateBenchmarks",
        swiftSettings: swiftSettings),
    .testTarget(
        name: "PolicyExpressionsTests",
        dependencies: ["PolicyExpressions"],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "ClientCertificatesTests",
        dependencies: [
            "ClientCertificates",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "PoliciesTests",
        dependencies: [
            "Policies", "PolicyExpressions", "ClientCertificates",
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ],
        exclude: ["Corpus"],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "ConfigurationStoreTests",
        dependencies: ["ConfigurationStore", "ConfigurationStorePostgres", .product(name: "SQLiteNIO", package: "sqlite-nio"),
                       .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "GatewayConfigurationTests",
        dependencies: ["GatewayConfiguration"],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "GatewayTests",
        dependencies: [
            "Gateway", "GatewayConfiguration", "Policies", "ConfigurationStore", "ConfigurationStorePostgres", "GatewayAdmin",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOHTTPTypesHTTP2", package: "swift-nio-extras"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ],
        swiftSettings: swiftSettings),
]

// Focused development: DRAWBRIDGE_ONLY=PolicyExpressions (comma-separated) keeps only the named
// library targets, their dependencies among our targets, and their test targets, so a library can be
// built and tested without compiling the whole gateway. Unset (CI, README), everything is built.
if let only = Context.environment["DRAWBRIDGE_ONLY"], !only.isEmpty {
    var keep = Set(only.split(separator: ",").map(String.init))
    var changed = true
    while changed {
        changed = false
        for target in targets where keep.contains(target.name) {
            for dependency in target.dependencies {
                if case .byNameItem(let name, _) = dependency, !keep.contains(name) {
                    keep.insert(name); changed = true
                }
            }
        }
    }
    targets = targets.filter { keep.contains($0.name) || ($0.isTest && keep.contains(String($0.name.dropLast(5)))) }
}

// Fuzzing (scripts/fuzz.sh): DRAWBRIDGE_FUZZ=1 declares one libFuzzer executable per parser (Fuzz/<name>)
// and keeps only those and the library targets they need. Never set in CI: the targets only link with
// `-sanitize=fuzzer` (libFuzzer supplies `main`).
if Context.environment["DRAWBRIDGE_FUZZ"] == "1" {
    let fuzzers: [(String, [Target.Dependency])] = [
        ("FuzzPolicyXML", ["Policies", "PolicyExpressions"]),
        ("FuzzExpression", ["PolicyExpressions"]),
        ("FuzzCertificates", ["ClientCertificates"]),
        ("FuzzGatewayConfig", ["GatewayConfiguration"]),
        ("FuzzJSON", ["PolicyExpressions"]),
    ]
    let libraries: Set<String> = ["PolicyExpressions", "ClientCertificates", "Policies", "GatewayConfiguration"]
    targets = targets.filter { libraries.contains($0.name) }
        + fuzzers.map { .executableTarget(name: $0.0, dependencies: $0.1, path: "Fuzz/\($0.0)", swiftSettings: swiftSettings) }
}

let package = Package(
    name: "Drawbridge",
    platforms: [.macOS(.v14)],
    products: (Context.environment["DRAWBRIDGE_ONLY"] ?? "").isEmpty && Context.environment["DRAWBRIDGE_FUZZ"] != "1"
        ? [.executable(name: "drawbridge", targets: ["drawbridge"])] : [],
    // Off by default: the default build (and the container image) has no span export; `#if OTel`
    // in Sources/Gateway/Operations/OTelSpanExport.swift is the whole difference.
    traits: [
        .trait(name: "OTel", description: "OpenTelemetry span export over OTLP/HTTP (swift-otel): the `tracing:` configuration key"),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.0.0"),
        .package(url: "https://github.com/GraphQLSwift/GraphQL.git", from: "4.3.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Built only with the OTel trait (see the Gateway target); the OTLP/HTTP exporter, no gRPC.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: targets
)
