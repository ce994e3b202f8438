import Crypto
import Foundation
import Testing
import _CryptoExtras

@testable import Policies

/// `new X509Certificate2(pfx, password)` with its private key and `GetRSAPrivateKey().SignData(…)`,
/// as the corpus's "client assertion signed with a Key Vault certificate" snippet uses them: the
/// signature verifies with the certificate's public key (openssl made the PKCS#12).
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
struct CertificateSigningRuntimeTests {
    struct Material {
        let pfxBase64: String
        let passwordPfxBase64: String
        let certificateBase64: String
        let publicKey: _RSA.Signing.PublicKey
    }

    static func openssl(_ arguments: [String], in folder: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "openssl \(arguments)")
    }

    static func material() throws -> Material {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pfx-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-subj", "/CN=signer", "-days", "30"], in: folder)
        try openssl(["pkcs12", "-export", "-in", "c.pem", "-inkey", "k.pem", "-out", "p.pfx", "-passout", "pass:"], in: folder)
        try openssl(["pkcs12", "-export", "-in", "c.pem", "-inkey", "k.pem", "-out", "pw.pfx", "-passout", "pass:s3cret"], in: folder)
        try openssl(["x509", "-in", "c.pem", "-outform", "der", "-out", "c.der"], in: folder)
        try openssl(["rsa", "-in", "k.pem", "-pubout", "-out", "pub.pem"], in: folder)
        func base64(_ name: String) throws -> String { try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)).base64EncodedString() }
        let publicPEM = try String(contentsOfFile: folder + "/pub.pem", encoding: .utf8)
        return Material(pfxBase64: try base64("p.pfx"), passwordPfxBase64: try base64("pw.pfx"), certificateBase64: try base64("c.der"),
                        publicKey: try _RSA.Signing.PublicKey(pemRepresentation: publicPEM))
    }

    static func base64URLDecode(_ text: Substring) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }

    @Test func aPKCS12CertificateSignsAClientAssertion() async throws {
        let material = try Self.material()
        // The snippet's own code (header, claims, RS256 over them with the certificate's RSA key).
        let xml = document(inbound: #"""
            <set-variable name="pfx" value="\#(material.pfxBase64)" />
            <return-response><set-body>@{
                X509Certificate2 certificate = new X509Certificate2(Convert.FromBase64String((string)context.Variables["pfx"]), (string)null);
                RSACng rsa = certificate.GetRSAPrivateKey() as RSACng;
                char Base64PadCharacter = '=';
                string certEncode = Convert.ToBase64String(certificate.GetCertHash()).Split(Base64PadCharacter)[0].Replace('+', '-').Replace('/', '_');
                var header = new Dictionary<string, string>() { { "alg", "RS256" }, { "kid", certEncode } };
                var claims = new Dictionary<string, string>() { { "aud", "https://login.example/token" }, { "iss", "client" } };
                string headerEncode = Convert.ToBase64String(Encoding.UTF8.GetBytes(JObject.FromObject(header).ToString())).Split(Base64PadCharacter)[0].Replace('+', '-').Replace('/', '_');
                string claimsEncode = Convert.ToBase64String(Encoding.UTF8.GetBytes(JObject.FromObject(claims).ToString())).Split(Base64PadCharacter)[0].Replace('+', '-').Replace('/', '_');
                string token = headerEncode + "." + claimsEncode;
                string signature = Convert.ToBase64String(rsa.SignData(Encoding.UTF8.GetBytes(token), HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1)).Split(Base64PadCharacter)[0].Replace('+', '-').Replace('/', '_');
                return string.Concat(token, ".", signature);
            }</set-body></return-response>
            """#)
        let (result, _) = try await execute(xml)
        let jwt = try #require(result.bodyText)
        let parts = jwt.split(separator: ".")
        try #require(parts.count == 3, "\(jwt)")
        let signature = try #require(Self.base64URLDecode(parts[2]))
        let signed = Data("\(parts[0]).\(parts[1])".utf8)
        #expect(material.publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: signed, padding: .insecurePKCS1v1_5))
        let header = try #require(Self.base64URLDecode(parts[0]))
        let certificateDER = try #require(Data(base64Encoded: material.certificateBase64))
        let thumbprint = Data(Insecure.SHA1.hash(data: certificateDER)).base64EncodedString().split(separator: "=")[0]
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        #expect(String(decoding: header, as: UTF8.self).contains(#""kid": "\#(thumbprint)""#), "\(String(decoding: header, as: UTF8.self))")
    }

    @Test func passwordsPaddingAndKeylessCertificates() async throws {
        let material = try Self.material()
        func run(_ block: String) async throws -> PolicyResult {
            let xml = document(inbound: #"""
                <set-variable name="pw" value="\#(material.passwordPfxBase64)" />
                <set-variable name="der" value="\#(material.certificateBase64)" />
                <return-response><set-body>@{ \#(block) }</set-body></return-response>
                """#)
            return try await execute(xml).0
        }
        let pss = try await run(#"var c = new X509Certificate2(Convert.FromBase64String((string)context.Variables["pw"]), "s3cret"); var k = c.GetRSAPrivateKey(); var s = k.SignData(new byte[] { 1, 2 }, HashAlgorithmName.SHA512, RSASignaturePadding.Pss); return s.Length + " " + k.VerifyData(new byte[] { 1, 2 }, s, HashAlgorithmName.SHA512, RSASignaturePadding.Pss) + " " + k.VerifyData(new byte[] { 1, 3 }, s, HashAlgorithmName.SHA512, RSASignaturePadding.Pss) + " " + c.HasPrivateKey + " " + k.KeySize;"#)
        #expect(pss.bodyText == "256 True False True 2048", "\(String(describing: pss.bodyText)) \(String(describing: pss.lastError))")
        let wrong = try await run(#"var c = new X509Certificate2(Convert.FromBase64String((string)context.Variables["pw"]), "wrong"); return "loaded";"#)
        #expect(wrong.status == 500)
        #expect(wrong.lastError?.message.contains("CryptographicException") == true, "\(String(describing: wrong.lastError))")
        let keyless = try await run(#"var c = new X509Certificate2(Convert.FromBase64String((string)context.Variables["der"])); return (c.GetRSAPrivateKey() == null) + " " + c.HasPrivateKey + " " + c.Verify();"#)
        #expect(keyless.bodyText == "True False False", "\(String(describing: keyless.bodyText)) \(String(describing: keyless.lastError))")
        let garbage = try await run(#"var c = new X509Certificate2(new byte[] { 1, 2, 3 }); return "loaded";"#)
        #expect(garbage.status == 500 && garbage.lastError?.message.contains("CryptographicException") == true, "\(String(describing: garbage.lastError))")
    }
}
