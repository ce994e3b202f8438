import NIOCore

/// A plaintext TLS alert record, sent before any handshake when a connection cannot be served at all
/// (no SNI and no default hostname, or an unknown server name): the client sees a precise reason
/// instead of a reset.
enum TLSAlert {
    /// fatal (2) unrecognized_name (112), in a TLS 1.0-versioned record as ClientHello-time alerts are.
    static func unrecognizedName(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 7)
        buffer.writeBytes([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 112])
        return buffer
    }
}
