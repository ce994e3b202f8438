import NIOCore

extension GatewayMetrics {
    /// The spans of the request whose task this is (task path), when spans are exported.
    func currentSpans() -> (any RequestSpans)? {
        jsonAccessLogInUse.load(ordering: .relaxed) ? AccessLogRecord.current?.spans : nil
    }

    func backendAnswered(status: UInt, since started: NIODeadline) {
        // (The task-local lookup only when some configuration asks for the JSON access log.)
        backendAnswered(status: status, since: started,
                        record: jsonAccessLogInUse.load(ordering: .relaxed) ? AccessLogRecord.current : nil)
    }

    /// `record`: the request's JSON access-log record (the event-loop path has no task and passes its own).
    func backendAnswered(status: UInt, since started: NIODeadline, record: AccessLogRecord?) {
        let nanos = Int64(truncatingIfNeeded: NIODeadline.now().uptimeNanoseconds &- started.uptimeNanoseconds)
        backendDuration.record(nanoseconds: nanos)
        if status >= 500 { backendFailed(.serverError) }
        record?.backendAnswered(nanoseconds: nanos)
        if let spans = record?.spans { spans.backendCallEnded(status: status, failure: nil) }  // span export
    }

    func backendFailed(_ error: any Error) {
        backendFailed(error, record: jsonAccessLogInUse.load(ordering: .relaxed) ? AccessLogRecord.current : nil)
    }

    func backendFailed(_ error: any Error, record: AccessLogRecord?) {
        record?.noteReason("backend: \(PlainErrorText.plain(error))")
        if let spans = record?.spans { spans.backendCallEnded(status: nil, failure: PlainErrorText.plain(error)) }  // span export
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
