import NIOCore

extension GatewayMetrics {
    func backendAnswered(status: UInt, since started: NIODeadline) {
        let nanos = Int64(truncatingIfNeeded: NIODeadline.now().uptimeNanoseconds &- started.uptimeNanoseconds)
        backendDuration.record(nanoseconds: nanos)
        if status >= 500 { backendFailed(.serverError) }
        // (The task-local lookup only when some configuration asks for the JSON access log.)
        if jsonAccessLogInUse.load(ordering: .relaxed) { AccessLogRecord.current?.backendAnswered(nanoseconds: nanos) }
    }

    func backendFailed(_ error: any Error) {
        if jsonAccessLogInUse.load(ordering: .relaxed) { AccessLogRecord.current?.noteReason("backend: \(PlainErrorText.plain(error))") }
        guard let error = error as? BackendClientError else {
            backendFailed(.other)
            return
        }
        switch error {
        case .connectFailed: backendFailed(.connect)
        case .timeout: backendFailed(.timeout)
        case .closedBeforeResponse, .writeFailed: backendFailed(.reset)
        case .badResponse: backendFailed(.badResponse)
        case .shutdown: backendFailed(.other)
        }
    }
}
