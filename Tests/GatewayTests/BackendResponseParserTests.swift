import NIOCore
import NIOHTTP1
import Testing

@testable import Gateway

/// The backend response parser: every framing, fed whole and byte by byte, and the malformed answers
/// a pooled connection must refuse rather than guess at (response splitting).
struct BackendResponseParserTests {
    /// What a parse produced: the head, the body bytes, whether the end came.
    struct Parsed {
        var head: HTTPResponseHead?
        var keepAlive = true
        var body: [UInt8] = []
        var ended = false
    }

    static func parse(_ text: String, head: Bool = false, upgrade: Bool = false, split: Int? = nil, close: Bool = false) throws -> Parsed {
        var parser = BackendResponseParser()
        parser.expectResponse(toHEAD: head, upgrade: upgrade)
        var parsed = Parsed()
        let bytes = Array(text.utf8)
        let step = split ?? max(bytes.count, 1)
        var offset = 0
        repeat {
            let piece = bytes[offset..<min(bytes.count, offset + step)]
            parser.feed(ByteBuffer(bytes: piece))
            offset += step
            while let event = try parser.next() {
                switch event {
                case .head(let responseHead, let keepAlive):
                    #expect(parsed.head == nil)
                    parsed.head = responseHead
                    parsed.keepAlive = keepAlive
                case .body(let buffer):
                    parsed.body += buffer.readableBytesView
                case .end:
                    parsed.ended = true
                }
            }
        } while offset < bytes.count
        if close, parser.endsAtClose { parsed.ended = true }
        return parsed
    }

    static func everySplit(_ text: String, head: Bool = false, check: (Parsed) -> Void) throws {
        for split in [nil, 1, 2, 3, 7] {
            check(try parse(text, head: head, split: split, close: true))
        }
    }

    @Test func contentLength() throws {
        try Self.everySplit("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello") { parsed in
            #expect(parsed.head?.status == .ok)
            #expect(parsed.head?.headers["content-type"] == ["text/plain"])
            #expect(parsed.head?.headers["content-length"] == ["5"])
            #expect(String(decoding: parsed.body, as: UTF8.self) == "hello")
            #expect(parsed.ended && parsed.keepAlive)
        }
    }

    @Test func chunkedWithExtensionsAndTrailers() throws {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n1A\r\n" + String(repeating: "x", count: 26)
            + "\r\n0\r\nX-Trailer: 1\r\n\r\n"
        try Self.everySplit(text) { parsed in
            #expect(parsed.head?.headers["transfer-encoding"] == [])
            #expect(parsed.body.count == 31)
            #expect(parsed.ended && parsed.keepAlive)
        }
    }

    @Test func untilCloseAndHTTP10() throws {
        try Self.everySplit("HTTP/1.0 200 OK\r\n\r\nall of it") { parsed in
            #expect(parsed.head?.version == .http1_0)
            #expect(String(decoding: parsed.body, as: UTF8.self) == "all of it")
            #expect(!parsed.keepAlive)
        }
        let kept = try Self.parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
        #expect(kept.keepAlive && kept.ended)
        let closing = try Self.parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        #expect(!closing.keepAlive && closing.ended)
    }

    @Test func bodilessAnswers() throws {
        for text in ["HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", "HTTP/1.1 304 Not Modified\r\n\r\n"] {
            let parsed = try Self.parse(text)
            #expect(parsed.ended && parsed.body.isEmpty && parsed.keepAlive)
        }
        let head = try Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", head: true)
        #expect(head.ended && head.body.isEmpty && head.head?.headers["content-length"] == ["1000"])
    }

    @Test func interimAnswersAreSkipped() throws {
        try Self.everySplit("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok") { parsed in
            #expect(parsed.head?.status == .created)
            #expect(String(decoding: parsed.body, as: UTF8.self) == "ok")
        }
    }

    @Test func hopByHopHeadersAreDropped() throws {
        let parsed = try Self.parse("HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\nX-Secret: 1\r\n"
            + "Upgrade: h2c\r\nTrailer: X\r\nProxy-Connection: close\r\nX-Kept: yes\r\nContent-Length: 0\r\n\r\n")
        #expect(parsed.head?.headers.map(\.name) == ["X-Kept", "Content-Length"])
    }

    @Test func switchingProtocols() throws {
        let text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n\u{81}\u{01}a"
        let parsed = try Self.parse(text, upgrade: true)
        #expect(parsed.head?.status == .switchingProtocols)
        #expect(parsed.head?.headers["upgrade"] == ["websocket"])
        #expect(parsed.head?.headers["connection"] == ["Upgrade"])
        #expect(parsed.body.count == 4)  // the other protocol's bytes, relayed as they are
        #expect(!parsed.keepAlive)
        #expect(throws: BackendResponseParser.Failure.self) { try Self.parse(text, upgrade: false) }
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",  // both framings
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",  // conflicting lengths
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",  // obsolete line folding
        "HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n",  // space before the colon
        "HTTP/1.1 200 OK\r\nX-A: 1\u{0B}2\r\n\r\n",  // control character in a value
        "HTTP/1.1 200 OK\r\nX-A: 1\r2\r\n\r\n",  // bare CR
        "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  // not hex
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",  // 16 hex digits
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",  // chunk not followed by CRLF
    ])
    func malformedAnswersAreRefused(text: String) throws {
        #expect(throws: BackendResponseParser.Failure.self) { try Self.parse(text) }
    }

    @Test func limits() throws {
        let many = (0..<300).map { "X-\($0): v\r\n" }.joined()
        #expect(throws: BackendResponseParser.Failure.self) { try Self.parse("HTTP/1.1 200 OK\r\n\(many)\r\n") }
        let huge = "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: 70_000)
        #expect(throws: BackendResponseParser.Failure.self) { try Self.parse(huge, split: 4096) }
        let longExtension = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 5000)
        #expect(throws: BackendResponseParser.Failure.self) { try Self.parse(longExtension, split: 1000) }
    }

    @Test func requestHeadBytes() throws {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "backend")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/a?b=c", headers: headers)
        let bytes = try BackendRequestEncoding.head(head, allocator: ByteBufferAllocator())
        #expect(String(buffer: bytes) == "POST /a?b=c HTTP/1.1\r\nHost: backend\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(BackendRequestEncoding.isChunked(head))
        for target in ["/a b", "/a\r\nX: y", ""] {
            let bad = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
            #expect(throws: BackendRequestEncoding.InvalidTarget.self) { try BackendRequestEncoding.head(bad, allocator: ByteBufferAllocator()) }
        }
    }
}
