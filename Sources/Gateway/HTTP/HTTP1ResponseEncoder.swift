import NIOCore
import NIOHTTP1

/// Writes HTTP/1.1 responses as bytes, for one client connection, one response at a time.
///
/// Instead of NIO's `HTTPResponseEncoder` (a handler of its own, a `NIOAny` wrap per part, and framing
/// that does not know the request): the gateway knows whether the request was HEAD, whether the
/// client speaks HTTP/1.0, whether the connection closes after this answer and, for a whole answer,
/// the body's exact length — so framing is decided here, once:
/// - 1xx and 204: no Content-Length, no Transfer-Encoding, no body;
/// - HEAD and 304: the head as given (a Content-Length describes the representation), no body;
/// - a body in hand: `Content-Length` of its exact length (any other value given is replaced);
/// - a streamed body: the given Content-Length, else chunked (HTTP/1.1) or until close (HTTP/1.0).
/// Transfer-Encoding and Connection headers given are replaced by the gateway's own (but for a 101,
/// whose Connection/Upgrade pair is the switch); `Connection: close` is sent when the connection ends
/// after this answer.
struct HTTP1ResponseEncoder {
    enum Framing {
        /// Nothing after the head (1xx, 204, 304, HEAD).
        case bodiless
        /// Bytes as they are (Content-Length, or until close).
        case raw
        case chunked
    }

    private(set) var framing = Framing.bodiless

    /// Whole answers up to this size go out as one buffer (one TLS record).
    static let coalesceLimit = 16 << 10

    /// The head's bytes. `bodyLength`: the exact length of a body in hand (nil: it streams).
    /// Returns whether the connection must close after this answer (a streamed body without length
    /// to an HTTP/1.0 client).
    mutating func head(_ head: HTTPResponseHead, into buffer: inout ByteBuffer, requestIsHEAD: Bool, http10: Bool,
                       closing: Bool, bodyLength: Int?) -> Bool {
        let code = Int(head.status.code)
        var closesAfter = closing
        var hasDeclaredLength = false
        if bodyLength == nil {
            for (name, _) in head.headers where name.utf8.count == 14 && name.caseInsensitiveEquals("content-length") {
                hasDeclaredLength = true
                break
            }
        }
        let bodiless = code < 200 || code == 204 || code == 304 || requestIsHEAD
        let keepGivenLength = code >= 200 && code != 204 && (requestIsHEAD || code == 304 || (bodyLength == nil && hasDeclaredLength))
        if bodiless {
            framing = .bodiless
        } else if bodyLength != nil || hasDeclaredLength {
            framing = .raw
        } else if http10 {
            framing = .raw
            closesAfter = true
        } else {
            framing = .chunked
        }

        let phrase = head.status.reasonPhrase
        let phraseIsClean = !phrase.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F })
        var size = 9 + 4 + phrase.utf8.count + 2 + 2 + 40 + 28 + 24
        for (name, value) in head.headers { size += name.utf8.count + value.utf8.count + 4 }
        buffer.writeHead(capacity: size) { bytes in
            bytes.put("HTTP/1.1 ")
            if code >= 100 && code <= 999 {
                bytes.put(decimal: code)
            } else {
                bytes.put("500")
            }
            bytes.put(UInt8(ascii: " "))
            if phraseIsClean { bytes.put(phrase) }
            bytes.put("\r\n")
            for (name, value) in head.headers {
                switch name.utf8.count {
                case 10 where code != 101 && name.caseInsensitiveEquals("connection"):
                    continue
                case 14 where name.caseInsensitiveEquals("content-length"):
                    if !keepGivenLength { continue }
                case 17 where name.caseInsensitiveEquals("transfer-encoding"):
                    continue
                default:
                    break
                }
                bytes.put(name)
                bytes.put(": ")
                bytes.put(value)
                bytes.put("\r\n")
            }
            if let bodyLength, !bodiless {
                bytes.put("Content-Length: ")
                bytes.put(decimal: bodyLength)
                bytes.put("\r\n")
            } else if framing == .chunked {
                bytes.put("Transfer-Encoding: chunked\r\n")
            }
            if code >= 200 {
                if closesAfter {
                    bytes.put("Connection: close\r\n")
                } else if http10 {
                    bytes.put("Connection: keep-alive\r\n")
                }
            }
            bytes.put("\r\n")
        }
        if code < 200 { framing = .bodiless }
        return closesAfter
    }

    /// What to write for a body part (empty when the answer has no body).
    func body(_ data: ByteBuffer, allocator: ByteBufferAllocator) -> [ByteBuffer] {
        switch framing {
        case .bodiless: return []
        case .raw: return data.readableBytes > 0 ? [data] : []
        case .chunked:
            guard data.readableBytes > 0 else { return [] }
            var prefix = allocator.buffer(capacity: 18)
            prefix.writeString(String(data.readableBytes, radix: 16))
            prefix.writeStaticString("\r\n")
            return [prefix, data, ByteBuffer(staticString: "\r\n")]
        }
    }

    /// What ends the answer (the last chunk of a chunked one; trailers are not sent).
    mutating func end() -> ByteBuffer {
        defer { framing = .bodiless }
        return framing == .chunked ? ByteBuffer(staticString: "0\r\n\r\n") : ByteBuffer()
    }
}
