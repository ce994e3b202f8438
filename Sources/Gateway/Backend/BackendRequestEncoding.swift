import NIOCore
import NIOHTTP1

/// HTTP/1.1 request heads and body framing for backends, written straight into one buffer (the
/// other half of `BackendResponseParser`; NIO's encoder handler cost a pipeline hop, a `NIOAny`
/// wrap and a header pass of its own per request).
enum BackendRequestEncoding {
    struct InvalidTarget: Error, CustomStringConvertible {
        var description: String { "the request target holds a space or a control character" }
    }

    /// The head's bytes: request line, headers, the empty line. The target must be one token (a
    /// policy can rewrite it; header values were checked for CR/LF/NUL where policies set them).
    static func head(_ head: HTTPRequestHead, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        let method = head.method.rawValue
        let uri = head.uri
        guard !uri.isEmpty, uri.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { throw InvalidTarget() }
        var size = method.utf8.count + uri.utf8.count + 14
        for (name, value) in head.headers { size += name.utf8.count + value.utf8.count + 4 }
        var buffer = allocator.buffer(capacity: size)
        buffer.writeHead(capacity: size) { bytes in
            bytes.put(method)
            bytes.put(UInt8(ascii: " "))
            bytes.put(uri)
            bytes.put(" HTTP/1.1\r\n")
            for (name, value) in head.headers {
                bytes.put(name)
                bytes.put(": ")
                bytes.put(value)
                bytes.put("\r\n")
            }
            bytes.put("\r\n")
        }
        return buffer
    }

    /// The head announces a chunked body (the gateway's own choice for a streamed body of unknown length).
    static func isChunked(_ head: HTTPRequestHead) -> Bool {
        for (name, value) in head.headers where name.utf8.count == 17 && name.caseInsensitiveEquals("transfer-encoding") {
            return value.caseInsensitiveEquals("chunked")
        }
        return false
    }

    /// `size` in hex and CRLF: what precedes a chunk's bytes.
    static func chunkPrefix(size: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 18)
        buffer.writeString(String(size, radix: 16))
        buffer.writeStaticString("\r\n")
        return buffer
    }
}
