#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

enum Stdout {
    /// Line-buffered stdout: each line reaches a pipe (systemd, `docker logs`) when it is written, not
    /// when the process exits. Called first thing by the long-running commands, before any thread writes.
    static func lineBuffered() {
        setvbuf(stdout, nil, _IOLBF, 0)
    }
}
