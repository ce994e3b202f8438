extension GatewayMetrics {
    func backendAnswered(status: UInt, elapsed: Duration) {
        backendDuration.record(elapsed)
        if status >= 500 { backendFailed(.serverError) }
        AccessLogRecord.current?.backendAnswered(elapsed)
    }

    func backendFailed(_ error: any Error) {
        AccessLogRecord.current?.noteReason("backend: \(PlainErrorText.plain(error))")
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
