import ArgumentParser
import ClientCertificates
import Foundation

/// `drawbridge cert inspect FILE`: thin wrapper over `CertificateInspection`.
struct CertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert", abstract: "Certificate tools.", subcommands: [Inspect.self])

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a certificate's .NET-style fields, SHA-256, SPKI hash, SANs, EKUs and CRL distribution points.")

        @Argument(help: "A PEM, DER, PKCS#7 or PKCS#12 file.")
        var file: String

        @Option(help: "Password of a PKCS#12/PFX file.")
        var password: String?

        @Flag(name: .long, help: "Print JSON (an array, one object per certificate).")
        var json = false

        /// Exit status 0, or 2 when the file cannot be read or holds no usable certificate.
        func run() async throws {
            do {
                print(try CertificateInspection.inspect(path: file, password: password, json: json))
            } catch {
                CLIErrors.report("\(error)")
                throw ExitCode(2)
            }
        }
    }
}

/// `drawbridge certcheck`: offline chain verification with a reason code. Exit status: 0 valid,
/// 1 invalid, 2 usage or input error (an unreadable or unusable file, a bad option value).
struct CertCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certcheck", abstract: "Verify a client certificate chain offline.")

    @Option(name: .long, help: "Trusted (root) certificate file; repeatable.")
    var trusted: [String] = []

    @Option(name: .long, help: "Untrusted intermediate certificate file; repeatable.")
    var untrusted: [String] = []

    @Option(name: .long, help: "The certificate to verify.")
    var leaf: String

    @Option(name: .long, help: "CRL file (DER or PEM); repeatable. Revocation is checked when given.")
    var crl: [String] = []

    @Option(name: .long, help: "Validation time, ISO 8601 (default: now).")
    var time: String?

    @Option(name: .long, help: "Required usage: clientAuth, serverAuth, any or an OID.")
    var eku: String = "clientAuth"

    @Option(name: .customLong("max-depth"), help: "Maximum number of intermediates.")
    var maxDepth: Int = 5

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Flag(name: .customLong("fail-open"), help: "Accept when no usable CRL is available.")
    var failOpen = false

    func run() async throws {
        let report: CertificateCheckReport
        do {
            report = try await CertificateCheck.run(
                CertificateCheckRequest(
                    trustedPaths: trusted, untrustedPaths: untrusted, leafPath: leaf, crlPaths: crl, time: time, eku: eku,
                    maxDepth: maxDepth, json: json, failOpen: failOpen))
        } catch {
            CLIErrors.report("\(error)")
            throw ExitCode(2)
        }
        print(report.output)
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
