import Atomics
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2

/// Open client connections: counted against `maxConnections`, and closed in order when the gateway
/// drains (idle ones at once, busy HTTP/1.1 ones after their response, HTTP/2 ones after GOAWAY and
/// their last stream).
final class ConnectionRegistry: Sendable {
    final class Tracked: Sendable {
        let channel: any Channel
        let isHTTP2: NIOLockedValueBox<Bool> = NIOLockedValueBox(false)
        let inFlight: NIOLockedValueBox<Int> = NIOLockedValueBox(0)
        /// The registry's count of requests started (for the idle memory trim).
        private let started: ManagedAtomic<Int>

        init(channel: any Channel, started: ManagedAtomic<Int>) {
            self.channel = channel
            self.started = started
        }

        func requestStarted() {
            inFlight.withLockedValue { $0 += 1 }
            started.wrappingIncrement(ordering: .relaxed)
        }

        /// Returns true when the connection should now close because the gateway is draining.
        func requestFinished(draining: Bool) -> Bool {
            let remaining = inFlight.withLockedValue { value -> Int in value -= 1; return value }
            return draining && remaining == 0
        }
    }

    private struct State {
        var connections: [ObjectIdentifier: Tracked] = [:]
        var draining = false
    }

    private let state = NIOLockedValueBox(State())
    let maxConnections: Int
    /// Requests started on any connection, ever (wrapping).
    let requestsStarted = ManagedAtomic<Int>(0)

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    var isDraining: Bool { state.withLockedValue { $0.draining } }
    var count: Int { state.withLockedValue { $0.connections.count } }

    /// Registers a new connection, or returns nil when the limit is reached or the gateway drains.
    func admit(_ channel: any Channel) -> Tracked? {
        state.withLockedValue { state in
            guard !state.draining, state.connections.count < maxConnections else { return nil }
            let tracked = Tracked(channel: channel, started: requestsStarted)
            state.connections[ObjectIdentifier(channel)] = tracked
            return tracked
        }
    }

    func remove(_ channel: any Channel) {
        _ = state.withLockedValue { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Starts draining: idle HTTP/1.1 connections close now; HTTP/2 connections get GOAWAY.
    func beginDraining() {
        let connections = state.withLockedValue { state -> [Tracked] in
            state.draining = true
            return Array(state.connections.values)
        }
        for connection in connections {
            if connection.isHTTP2.withLockedValue({ $0 }) {
                let goAway = HTTP2Frame(streamID: .rootStream,
                                        payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil))
                connection.channel.writeAndFlush(goAway, promise: nil)
                if connection.inFlight.withLockedValue({ $0 }) == 0 { connection.channel.close(promise: nil) }
            } else if connection.inFlight.withLockedValue({ $0 }) == 0 {
                connection.channel.close(promise: nil)
            }
        }
    }

    /// Ends every connection still open (the grace period is over).
    func closeAll() {
        let connections = state.withLockedValue { Array($0.connections.values) }
        for connection in connections { connection.channel.close(promise: nil) }
    }
}
