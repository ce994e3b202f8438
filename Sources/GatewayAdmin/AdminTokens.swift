import ConfigurationStore
import Crypto
import Foundation

/// Admin bearer tokens: 32 random bytes, shown once; the store keeps their SHA-256 only, and a
/// presented token is compared with every stored digest in constant time.
public enum AdminTokens {
    public static func generate() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let text = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return "dbt_" + text
    }

    /// Creates a token, stores its digest under `name`, returns the token.
    public static func create(name: String, in store: any ConfigurationStore) async throws -> String {
        let token = generate()
        try await store.addAdminToken(name: name, digest: DocumentDigest.sha256Hex(token))
        return token
    }

    /// The name of the token presented in `Authorization: Bearer …`, or nil.
    public static func authenticate(authorization: String?, in store: any ConfigurationStore) async -> String? {
        guard let authorization, authorization.count < 4096 else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let digest = DocumentDigest.sha256Hex(parts[1].trimmingCharacters(in: .whitespaces))
        guard let stored = try? await store.adminTokenDigests() else { return nil }
        var match: String?
        for (name, candidate) in stored where DocumentDigest.constantTimeEqual(candidate, digest) { match = name }
        return match
    }
}
