import Crypto
import Foundation
import GatewayConfiguration
import NIOHTTP1
import SwiftASN1
import X509

/// The headers that hand a connection's client certificate to a backend (`forwardClientCertificate`),
/// built once per connection and format (`ConnectionInfo.forwardedCertificate`), so a request pays a
/// lock and an append. With `none` nothing here runs.
///
/// The client's own copies of these headers never get this far: `BackendForwarder.forgeable` drops
/// them, in every spelling, before policies run and before a backend head is built.
enum ClientCertificateForwarding {
    typealias Headers = [(name: String, value: String)]

    /// The headers for `mode`, from the connection's cache (computed on the first request).
    static func headers(_ mode: ClientCertificateForwardingMode, connection: ConnectionInfo) -> Headers {
        guard mode != .none, !connection.presentedChainDER.isEmpty else { return [] }
        if let known = connection.forwardedCertificate.withLockedValue({ $0[mode] }) { return known }
        let built = headers(mode, chain: connection.presentedChainDER)
        connection.forwardedCertificate.withLockedValue { $0[mode] = built }
        return built
    }

    /// Adds the headers to a backend request head's headers (replacing any of the same names).
    static func add(_ mode: ClientCertificateForwardingMode, connection: ConnectionInfo, to headers: inout HTTPHeaders) {
        for header in Self.headers(mode, connection: connection) {
            headers.replaceOrAdd(name: header.name, value: header.value)
        }
    }

    /// The headers for a chain (DER, leaf first).
    static func headers(_ mode: ClientCertificateForwardingMode, chain: [[UInt8]]) -> Headers {
        guard let leaf = chain.first else { return [] }
        switch mode {
        case .none:
            return []
        case .rfc9440:
            // RFC 9440 §2: Byte Sequences (RFC 8941 §3.3.5): ":" base64 ":"; the chain is a List of them,
            // the certificates the client sent after its own (the leaf is not repeated).
            var headers: Headers = [("Client-Cert", byteSequence(leaf))]
            let rest = chain.dropFirst()
            if !rest.isEmpty { headers.append(("Client-Cert-Chain", rest.map(byteSequence).joined(separator: ", "))) }
            return headers
        case .xfcc:
            return [("X-Forwarded-Client-Cert", xfcc(chain))]
        }
    }

    static func byteSequence(_ der: [UInt8]) -> String {
        ":" + Data(der).base64EncodedString() + ":"
    }

    /// One XFCC element in Envoy's format: `Hash` (hex SHA-256 of the DER), `Cert` and `Chain`
    /// (URL-encoded PEM, the chain leaf first), `Subject` (RFC 4514), then `URI` and `DNS` per
    /// subject alternative name. Values holding `,`, `;`, `=` or `"` are quoted.
    static func xfcc(_ chain: [[UInt8]]) -> String {
        guard let leaf = chain.first else { return "" }
        let hash = SHA256.hash(data: leaf).map { hex($0) }.joined()
        var parts = ["Hash=" + hash, "Cert=\"" + urlEncoded(pem(leaf)) + "\"", "Chain=\"" + urlEncoded(chain.map(pem).joined()) + "\""]
        // The chain was verified before it is forwarded; its text is still client-chosen (a CA may sign
        // anything), so it is escaped for a header value.
        if let certificate = try? Certificate(derEncoded: leaf) {
            parts.append("Subject=\"" + quotedText(String(describing: certificate.subject)) + "\"")
            if let names = try? certificate.extensions.subjectAlternativeNames {
                for name in names {
                    switch name {
                    case .uniformResourceIdentifier(let uri): parts.append("URI=" + value(uri))
                    case .dnsName(let dns): parts.append("DNS=" + value(dns))
                    default: continue
                    }
                }
            }
        }
        return parts.joined(separator: ";")
    }

    static func pem(_ der: [UInt8]) -> String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN CERTIFICATE-----\n" + base64 + "\n-----END CERTIFICATE-----\n"
    }

    /// Percent-encodes every byte but RFC 3986's unreserved characters.
    static func urlEncoded(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count * 2)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + hex(byte).uppercased()
            }
        }
        return out
    }

    /// A value as is, or quoted when it holds a separator.
    static func value(_ text: String) -> String {
        let safe = quotedText(text)
        return safe.contains(where: { $0 == "," || $0 == ";" || $0 == "=" || $0 == "\"" || $0 == " " }) ? "\"" + safe + "\"" : safe
    }

    /// Text for inside quotes: `"` and `\` backslash-escaped, control characters as `\xNN`.
    static func quotedText(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"", "\\": out += "\\" + String(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\x" + hex(UInt8(scalar.value)).uppercased()
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
