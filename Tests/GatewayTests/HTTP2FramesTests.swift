import Foundation
import Testing

/// The frames of an HTTP/2 answer, seen by nghttp (nghttp2's client prints every frame with
/// `-v`): the stream handler writes frame payloads itself, so a whole answer is one HEADERS frame
/// and, when it has a body, one DATA frame carrying END_STREAM — no empty DATA frame of its own.
@Suite(.serialized, .enabled(if: NGHTTP.isAvailable && Curl.isAvailable, "needs nghttp (nghttp2-client) and curl; .ci/run installs them"))
struct HTTP2FramesTests {
    @Test func answersEndOnTheirLastFrame() async throws {
        let gateway = try await TestGateway.start()
        let url = "https://localhost:\(gateway.port)/echo/users/7"
        // Proxied 200 with a body: HEADERS, then a single DATA frame with END_STREAM.
        let proxied = try await NGHTTP.frames(gateway, url: url, cert: true)
        #expect(proxied.contains { $0.kind == "HEADERS" && !$0.endStream })
        let data = proxied.filter { $0.kind == "DATA" }
        #expect(data.count == 1 && data[0].endStream, "\(proxied)")
        #expect(data.first.map { $0.length > 0 } == true)
        // The seed policy's 403 (a body made on the loop): the same shape.
        let refused = try await NGHTTP.frames(gateway, url: url, cert: false)
        let refusedData = refused.filter { $0.kind == "DATA" }
        #expect(refusedData.count == 1 && refusedData[0].endStream, "\(refused)")
        try await gateway.stop()
    }

    @Test func malformedRequestHeadGets400WithItsReason() async throws {
        let gateway = try await TestGateway.start()
        // '{' is not a token character: HTTP/2 framing accepts it, HTTP semantics do not.
        let result = try await Curl.run([
            "--cacert", gateway.pki.rootCA, "--resolve", "localhost:\(gateway.port):127.0.0.1",
            "--cert", gateway.pki.clientCertificate, "--key", gateway.pki.clientKey,
            "--http2", "-X", "GE{T", "https://localhost:\(gateway.port)/echo/users/7",
        ])
        #expect(result.httpCode == 400, "\(result.stderr)")
        #expect(result.body == #"{"statusCode":400,"message":"malformed HTTP/2 request: malformed :method"}"#)
        // The connection still serves.
        let ok = try await Curl.run([
            "--cacert", gateway.pki.rootCA, "--resolve", "localhost:\(gateway.port):127.0.0.1",
            "--cert", gateway.pki.clientCertificate, "--key", gateway.pki.clientKey,
            "--http2", "https://localhost:\(gateway.port)/echo/users/7",
        ])
        #expect(ok.httpCode == 200)
        try await gateway.stop()
    }
}

/// nghttp with `-v`, reduced to the frames received on the request's stream.
enum NGHTTP {
    struct Frame: CustomStringConvertible {
        let kind: String
        let length: Int
        let endStream: Bool
        var description: String { "\(kind)(\(length)\(endStream ? ", END_STREAM" : ""))" }
    }

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/nghttp") }

    static func frames(_ gateway: TestGateway, url: String, cert: Bool) async throws -> [Frame] {
        var arguments = ["-v", "-n", "--timeout=30"]
        if cert { arguments += ["--cert=\(gateway.pki.clientCertificate)", "--key=\(gateway.pki.clientKey)"] }
        arguments.append(url)
        let command = arguments
        let output = try await OffPool.run { () throws -> String in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/nghttp")
            process.arguments = command
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        // "[  0.320] recv DATA frame <length=410, flags=0x01, stream_id=13>"; the request's stream is
        // the one nghttp sent HEADERS on.
        let lines = output.split(separator: "\n").map(String.init)
        guard let sent = lines.first(where: { $0.contains("send HEADERS frame") }),
              let stream = field("stream_id", in: sent) else {
            throw TestFailure("nghttp sent no request: \(output.prefix(500))")
        }
        return lines.compactMap { line -> Frame? in
            guard let range = line.range(of: "recv "), line.contains(" frame <"),
                  field("stream_id", in: line) == stream,
                  let length = field("length", in: line), let flags = field("flags", in: line) else { return nil }
            let kind = line[range.upperBound...].prefix { $0 != " " }
            let flagBits = Int(flags.dropFirst(2), radix: 16) ?? 0
            return Frame(kind: String(kind), length: Int(length) ?? -1, endStream: flagBits & 0x1 != 0)
        }
    }

    private static func field(_ name: String, in line: String) -> String? {
        guard let start = line.range(of: "\(name)=") else { return nil }
        return String(line[start.upperBound...].prefix { $0 != "," && $0 != ">" })
    }
}
