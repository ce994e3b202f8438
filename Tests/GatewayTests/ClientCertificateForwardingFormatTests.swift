@testable import Gateway
import Testing

/// The forwarding encoders on their own: hostile certificate text can never break a header.
struct ClientCertificateForwardingFormatTests {
    @Test func textIsEscapedForHeaderValues() {
        #expect(ClientCertificateForwarding.quotedText("a\"b\\c\r\nd") == "a\\\"b\\\\c\\x0D\\x0Ad")
        #expect(ClientCertificateForwarding.value("x;y") == "\"x;y\"")
        #expect(ClientCertificateForwarding.value("spiffe://a/b") == "spiffe://a/b")
        #expect(ClientCertificateForwarding.urlEncoded("-----BEGIN X-----\n+/=") == "-----BEGIN%20X-----%0A%2B%2F%3D")
    }

    @Test func rfc9440ByteSequences() {
        let headers = ClientCertificateForwarding.headers(.rfc9440, chain: [[0x01, 0x02], [0xFF]])
        #expect(headers.map(\.name) == ["Client-Cert", "Client-Cert-Chain"])
        #expect(headers.map(\.value) == [":AQI=:", ":/w==:"])
        #expect(ClientCertificateForwarding.headers(.rfc9440, chain: [[0x01]]).count == 1)
        #expect(ClientCertificateForwarding.headers(.none, chain: [[0x01]]).isEmpty)
        #expect(ClientCertificateForwarding.headers(.xfcc, chain: []).isEmpty)
    }
}
