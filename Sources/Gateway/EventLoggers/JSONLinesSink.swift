#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import Policies
import Synchronization

/// A logger's events as JSON lines appended to a file (created owner-only, 0600) or written to
/// standard output. A batch is one `write` (retried for short writes), so lines from this sink never
/// interleave with each other; a failed write counts its events as failed and is logged (the
/// reason, never the events).
final class JSONLinesSink: EventLogSink {
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let closed = Mutex(false)
    private let loggerID: String
    private let logger: Logger

    /// Standard output.
    init(stdoutFor loggerID: String, logger: Logger) {
        descriptor = 1
        ownsDescriptor = false
        self.loggerID = loggerID
        self.logger = logger
    }

    /// `path`, opened for appending (created 0600 when missing).
    init(path: String, loggerID: String, logger: Logger) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw GatewayStartupError.file(path: path, reason: "cannot open the file of logger '\(loggerID)': \(String(cString: strerror(errno)))")
        }
        descriptor = fd
        ownsDescriptor = true
        self.loggerID = loggerID
        self.logger = logger
    }

    func deliver(_ events: [PolicyLogEvent]) async -> (sent: Int, failed: Int) {
        var text = ""
        for event in events { text += EventLogLine.line(event, logger: loggerID) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress.map { $0 + written }, buffer.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                logger.warning("logger could not write its events", metadata: [
                    "logger": "\(LogText.escape(loggerID))", "events": "\(events.count)", "error": "\(String(cString: strerror(errno)))",
                ])
                return (0, events.count)
            }
            written += n
        }
        return (events.count, 0)
    }

    /// (A sink whose configuration never came into force is closed when it goes away.)
    deinit { close() }

    func close() {
        guard ownsDescriptor, !closed.withLock({ let was = $0; $0 = true; return was }) else { return }
        #if canImport(Glibc)
        _ = Glibc.close(descriptor)
        #elseif canImport(Musl)
        _ = Musl.close(descriptor)
        #elseif canImport(Darwin)
        _ = Darwin.close(descriptor)
        #endif
    }
}
