import Foundation
import Gateway
import GatewayConfiguration
import Testing

/// Per-hostname TLS profiles, probed with `openssl s_client` as a scanner would: the default offers
/// TLS 1.2 with ECDHE + AEAD suites only (no CBC), TLS 1.3, and X25519/P-256/P-384; a profile can
/// raise the minimum version and narrow the suites.
@Suite(.serialized, .enabled(if: OpenSSLPKI.isAvailable))
struct TLSProfileTests {
    /// The cipher negotiated, or nil when the handshake failed (with `keyExchange`: the server's
    /// temporary key instead, e.g. "X25519, 253 bits").
    static func handshake(_ gateway: TestGateway, _ arguments: [String], keyExchange: Bool = false) async throws -> String? {
        try await OffPool.run {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["s_client", "-connect", "127.0.0.1:\(gateway.port)", "-servername", "localhost"] + arguments
            let out = Pipe()
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = out
            process.standardError = out
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let marker = keyExchange ? "Server Temp Key: " : "Cipher is "
            guard process.terminationStatus == 0, text.contains("Cipher is "), !text.contains("Cipher is (NONE)"),
                  let line = text.split(separator: "\n").first(where: { $0.contains(marker) })
            else { return nil }
            return line.components(separatedBy: marker).last.map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }

    @Test func defaultIsMozillaIntermediate() async throws {
        let gateway = try await TestGateway.start()
        #expect(try await Self.handshake(gateway, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"]) == "ECDHE-ECDSA-AES128-GCM-SHA256")
        #expect(try await Self.handshake(gateway, ["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"]) == "ECDHE-ECDSA-CHACHA20-POLY1305")
        for cbc in ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256", "AES128-SHA"] {
            #expect(try await Self.handshake(gateway, ["-tls1_2", "-cipher", cbc]) == nil, "\(cbc) must not be offered")
        }
        #expect(try await Self.handshake(gateway, ["-tls1_1"]) == nil)
        // (TLS 1.2 clients must also list the certificate's curve, P-256, among their groups.)
        #expect(try await Self.handshake(gateway, ["-tls1_2", "-curves", "X25519:P-256"], keyExchange: true)?.hasPrefix("X25519") == true)
        #expect(try await Self.handshake(gateway, ["-tls1_2", "-curves", "P-521:P-256"], keyExchange: true)?.contains("prime256v1") == true,
                "P-521 is not in the default groups")
        #expect(try await Self.handshake(gateway, ["-tls1_3"]) != nil)
        try await gateway.stop()
    }

    @Test func profileRaisesTheMinimumAndNarrowsTheSuites() async throws {
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.hostnames[0].tls.cipherSuites = ["ECDHE-ECDSA-AES256-GCM-SHA384"]
            config.hostnames[0].tls.curves = ["secp384r1"]
        })
        #expect(try await Self.handshake(gateway, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"]) == nil)
        #expect(try await Self.handshake(gateway, ["-tls1_2"]) == "ECDHE-ECDSA-AES256-GCM-SHA384")
        #expect(try await Self.handshake(gateway, ["-tls1_2", "-curves", "X25519:P-256"]) == nil)
        try await gateway.stop()

        let modern = try await TestGateway.start(tweaking: { config, _, _ in config.hostnames[0].tls.minimumVersion = .tls13 })
        #expect(try await Self.handshake(modern, ["-tls1_2"]) == nil)
        #expect(try await Self.handshake(modern, ["-tls1_3"]) != nil)
        try await modern.stop()
    }
}
