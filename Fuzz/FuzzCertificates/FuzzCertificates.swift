// libFuzzer target: certificate material as operators upload it — CertificateLoader (PEM / DER /
// PKCS#7 / PKCS#12 detection and loading), X509Certificate2 parsing and its .NET text formatting
// (ToString, GetNameInfo, DN decode variants, inspect), X500DistinguishedName from raw DER, and
// CertificateRevocationList (DER or PEM; single and multi-block). Build and run with scripts/fuzz.sh.
import ClientCertificates

private func exercise(_ certificate: X509Certificate2) {
    _ = certificate.toString()
    _ = CertificateInspection.describe(certificate)
    for type in X509NameType.allCases {
        _ = certificate.getNameInfo(type, forIssuer: false)
        _ = certificate.getNameInfo(type, forIssuer: true)
    }
    for name in [certificate.subjectName, certificate.issuerName] {
        _ = name.decode()
        _ = name.decode(reversed: false, separator: "; ")
        _ = name.values(of: "2.5.4.3")
    }
    _ = certificate.crlDistributionPointURLs
    _ = certificate.spkiSHA256
    _ = certificate.publicKey.sha256Hex
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    // The demo PKI's PKCS#12 password is "changeit"-style; any fixed password reaches the MAC check.
    if let certificates = try? CertificateLoader.load(bytes, password: "drawbridge") {
        certificates.forEach(exercise)
    }
    if let certificate = try? X509Certificate2(bytes) { exercise(certificate) }
    if let name = try? X500DistinguishedName(derEncoded: bytes) {
        _ = name.decode()
        _ = name.decode(reversed: false, separator: "+")
    }
    if let crl = try? CertificateRevocationList(bytes: bytes) {
        _ = crl.issuer.name
        _ = crl.entry(forSerial: [0x01])
        _ = crl.isDelta
    }
    if let text = String(validating: bytes, as: UTF8.self), text.contains("-----BEGIN") {
        _ = try? CertificateRevocationList.parseAll(pem: text)
    }
    return 0
}
