/// Why a backend exchange failed. The gateway answers 504 for `timeout` and 502 for the rest.
enum BackendClientError: Error, CustomStringConvertible, Equatable {
    /// No connection could be made (refused, unreachable, connect timeout, TLS handshake failure).
    case connectFailed(String)
    /// The response head did not arrive before the deadline.
    case timeout
    /// The backend closed the connection before its response head was complete.
    case closedBeforeResponse
    /// The backend's response could not be parsed, or it closed mid-body.
    case badResponse(String)
    /// The request (head or body) could not be written.
    case writeFailed(String)
    /// The client is shutting down.
    case shutdown

    var description: String {
        switch self {
        case .connectFailed(let reason): return "cannot connect to the backend: \(reason)"
        case .timeout: return "the backend did not answer in time"
        case .closedBeforeResponse: return "the backend closed the connection before answering"
        case .badResponse(let reason): return "bad response from the backend: \(reason)"
        case .writeFailed(let reason): return "cannot send the request to the backend: \(reason)"
        case .shutdown: return "the gateway is shutting down"
        }
    }
}
