extension GatewayMetrics {
    /// `record`: the request's JSON access-log record (the task-local one on the task path; the event-loop
    /// path passes its own).
    func backendAnswered(status: UInt, elapsed: Duration, record: AccessLogRecord? = AccessLogRecord.current) {
        backendDuration.record(elapsed)
        if status >= 500 { backendFailed(.serverError) }
        record?.backendAnswered(elapsed)
    }

    func backendFailed(_ error: any Error, record: AccessLogRecord? = AccessLogRecord.current) {
        record?.noteReason("backend: \(PlainErrorText.plain(error))")
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
