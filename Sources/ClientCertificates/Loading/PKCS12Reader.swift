internal import CNIOBoringSSL
internal import CNIOBoringSSLShims

/// Reads a PKCS#12/PFX with BoringSSL's `PKCS12_parse` directly. NIOSSL's `NIOSSLPKCS12Bundle`
/// calls `fatalError` when the file parses but holds no private key (a certificates-only export,
/// `openssl pkcs12 -export -nokeys`) or no certificate matching its key (`-nocerts`): an uploaded
/// file could stop the process. Here both are ordinary outcomes.
enum PKCS12Reader {
    struct Contents {
        /// The private key (`i2d_PrivateKey`: PKCS#1 / SEC1, as NIOSSL's `derBytes`), if any.
        var privateKeyDER: [UInt8]?
        /// The certificate matching the key, if any.
        var keyCertificateDER: [UInt8]?
        /// The other certificates, in file order.
        var otherCertificateDERs: [[UInt8]] = []
    }

    enum Failure: Error {
        case unparsable(String)
        case wrongPassword
    }

    static func read(_ bytes: [UInt8], password: String) throws -> Contents {
        ERR_clear_error()
        defer { ERR_clear_error() }
        let p12: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard cursor != nil else { return nil }
            return d2i_PKCS12(nil, &cursor, buffer.count)
        }
        guard let p12 else { throw Failure.unparsable(errorText()) }
        defer { PKCS12_free(p12) }
        var key: OpaquePointer?
        var certificate: OpaquePointer?
        var others: OpaquePointer?
        let status = password.withCString { PKCS12_parse(p12, $0, &key, &certificate, &others) }
        defer {
            if let key { EVP_PKEY_free(key) }
            if let certificate { X509_free(certificate) }
            if let others { CNIOBoringSSLShims_sk_X509_pop_free(others, X509_free) }
        }
        guard status == 1 else {
            let text = errorText()
            if text.contains("INCORRECT_PASSWORD") || text.contains("BAD_PASSWORD") || text.contains("MAC_VERIFY") {
                throw Failure.wrongPassword
            }
            throw Failure.unparsable(text)
        }
        var contents = Contents()
        if let key { contents.privateKeyDER = try der { i2d_PrivateKey(key, $0) } }
        if let certificate { contents.keyCertificateDER = try der { i2d_X509(certificate, $0) } }
        if let others {
            let count = CNIOBoringSSLShims_sk_X509_num(others)
            var index = 0
            while index < count {
                if let element = CNIOBoringSSLShims_sk_X509_value(others, index) {
                    contents.otherCertificateDERs.append(try der { i2d_X509(element, $0) })
                }
                index += 1
            }
        }
        return contents
    }

    /// Runs an `i2d_*` function with BoringSSL allocating the output.
    private static func der(_ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>) -> Int32) throws -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        let length = encode(&output)
        defer { if let output { OPENSSL_free(output) } }
        guard length > 0, let output else { throw Failure.unparsable("cannot re-encode: " + errorText()) }
        return Array(UnsafeBufferPointer(start: output, count: Int(length)))
    }

    private static func errorText() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            parts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return parts.isEmpty ? "unknown error" : parts.joined(separator: "; ")
    }
}
