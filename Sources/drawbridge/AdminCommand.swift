import ArgumentParser
import ConfigurationStore
import Foundation
import GatewayAdmin

/// `drawbridge admin …`: the common admin API operations, so an operator needs no curl.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Manage a gateway served with --store through its admin API (or create admin tokens).",
        subcommands: [AdminUploadCACommand.self, AdminCertificatesCommand.self, AdminUploadCertificateCommand.self,
                      AdminHostnameModeCommand.self, AdminPutPolicyCommand.self, AdminTokenCommand.self,
                      AdminPutProductCommand.self, AdminCreateSubscriptionCommand.self, AdminRegenerateKeyCommand.self])
}

/// Where the admin API is and the token to use.
struct AdminConnection: ParsableArguments {
    @Option(name: .long, help: "Admin API base URL.")
    var url: String = "http://127.0.0.1:9464/admin"

    @Option(name: .long, help: "File holding the admin token (serve --store writes DIR/admin-token on first start). Else $DRAWBRIDGE_ADMIN_TOKEN.")
    var tokenFile: String?

    func client() throws -> AdminClient {
        var token = ProcessInfo.processInfo.environment["DRAWBRIDGE_ADMIN_TOKEN"]
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw ValidationError("cannot read the token file \(tokenFile)")
            }
            token = text
        }
        guard let token = token?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            throw ValidationError("no admin token: pass --token-file or set DRAWBRIDGE_ADMIN_TOKEN")
        }
        return AdminClient(baseURL: url.hasSuffix("/") ? String(url.dropLast()) : url, token: token)
    }
}

enum AdminIO {
    static func read(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path) as text") }
        return text
    }

    static func json(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }

    static func path(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? id
    }

    static func fail(_ error: any Error) -> ExitCode {
        CLIErrors.report("\(error)")
        return ExitCode(1)
    }
}

struct AdminUploadCACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "upload-ca", abstract: "Upload a CA certificate (PEM).")
    @OptionGroup var connection: AdminConnection
    @Argument(help: "CA certificate id.") var id: String
    @Argument(help: "PEM file.") var file: String
    @Option(name: .long, help: "Root or CertificateAuthority (default: Root when self-signed).") var storeName: String?

    func run() async throws {
        do {
            var body: [String: Any] = ["pem": try AdminIO.read(file)]
            if let storeName { body["storeName"] = storeName }
            let client = try connection.client()
            let answer = try client.require(try await client.call("PUT", "/ca-certificates/\(AdminIO.path(id))", body: try AdminIO.json(body)))
            let view = answer.json as? [String: Any]
            print("ca-certificates/\(id): \(view?["subject"] ?? "") (\(view?["storeName"] ?? ""), thumbprint \(view?["thumbprint"] ?? ""), expires \(view?["notAfter"] ?? ""))")
        } catch let error as ValidationError { throw error } catch { throw AdminIO.fail(error) }
    }
}

struct AdminUploadCertificateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "upload-certificate",
                                                    abstract: "Upload a certificate: a PEM chain with an optional PEM key, or a PFX (password from $DRAWBRIDGE_PFX_PASSWORD).")
    @OptionGroup var connection: AdminConnection
    @Argument(help: "Certificate id.") var id: String
    @Option(name: .long, help: "PEM certificate chain, leaf first.") var pem: String?
    @Option(name: .long, help: "PEM private key of the leaf.") var key: String?
    @Option(name: .long, help: "PKCS#12 / PFX file.") var pfx: String?

    func run() async throws {
        do {
            var body: [String: Any] = [:]
            if let pem { body["pem"] = try AdminIO.read(pem) }
            if let key { body["key"] = try AdminIO.read(key) }
            if let pfx {
                guard let data = FileManager.default.contents(atPath: pfx) else { throw ValidationError("cannot read \(pfx)") }
                body["pfx"] = data.base64EncodedString()
                body["password"] = ProcessInfo.processInfo.environment["DRAWBRIDGE_PFX_PASSWORD"] ?? ""
            }
            let client = try connection.client()
            let answer = try client.require(try await client.call("PUT", "/certificates/\(AdminIO.path(id))", body: try AdminIO.json(body)))
            let view = answer.json as? [String: Any]
            print("certificates/\(id): \(view?["subject"] ?? "") (thumbprint \(view?["thumbprint"] ?? ""), private key: \((view?["hasPrivateKey"] as? Bool) == true), expires \(view?["notAfter"] ?? ""))")
        } catch let error as ValidationError { throw error } catch { throw AdminIO.fail(error) }
    }
}

struct AdminCertificatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "certificates", abstract: "List certificates and CA certificates with their expiry.")
    @OptionGroup var connection: AdminConnection

    func run() async throws {
        do {
            let client = try connection.client()
            for collection in ["ca-certificates", "certificates"] {
                let answer = try client.require(try await client.call("GET", "/\(collection)"))
                for item in (answer.json as? [[String: Any]]) ?? [] {
                    let extra = collection == "certificates" ? ((item["hasPrivateKey"] as? Bool) == true ? "  with key" : "") : "  \(item["storeName"] ?? "")"
                    print("\(collection)/\(item["id"] ?? "")  expires \(item["notAfter"] ?? "?")  \(item["thumbprint"] ?? "")  \(item["subject"] ?? "")\(extra)")
                }
            }
        } catch let error as ValidationError { throw error } catch { throw AdminIO.fail(error) }
    }
}

struct AdminHostnameModeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set-client-certificate",
                                                    abstract: "Set a hostname's client-certificate mode (off, negotiate, required).")
    @OptionGroup var connection: AdminConnection
    @Argument(help: "Hostname.") var hostname: String
    @Argument(help: "off, negotiate or required.") var mode: String

    func run() async throws {
        guard ["off", "negotiate", "required"].contains(mode) else { throw ValidationError("mode must be off, negotiate or required") }
        do {
            let client = try connection.client()
            let path = "/hostnames/\(AdminIO.path(hostname))"
            let current = try client.require(try await client.call("GET", path), [200])
            guard var document = current.json as? [String: Any], let etag = current.etag else {
                throw AdminCommandError(message: "unexpected answer: \(current.text)")
            }
            for field in ["id", "etag", "revision"] { document[field] = nil }
            document["clientCertificate"] = mode
            // If-Match: a change made meanwhile is not overwritten.
            _ = try client.require(try await client.call("PUT", path, body: try AdminIO.json(document), headers: ["If-Match": etag]))
            print("hostnames/\(hostname): client certificate \(mode)")
        } catch let error as ValidationError { throw error } catch { throw AdminIO.fail(error) }
    }
}

struct AdminPutPolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put-policy",
                                                    abstract: "Set a policy: scope global, product:<product>, api:<api> or operation:<api>:<operation>; or a fragment with --fragment.")
    @OptionGroup var connection: AdminConnection
    @Argument(help: "Scope (or fragment id).") var scope: String
    @Argument(help: "Policy XML file.") var file: String
    @Flag(name: .long, help: "The file is a policy fragment; the scope is its id.") var fragment = false

    func run() async throws {
        do {
            let client = try connection.client()
            let collection = fragment ? "fragments" : "policies"
            _ = try client.require(try await client.call("PUT", "/\(collection)/\(AdminIO.path(scope))", body: Data(try AdminIO.read(file).utf8),
                                                         contentType: "application/xml"))
            print("\(collection)/\(scope): set and in force")
        } catch let error as ValidationError { throw error } catch { throw AdminIO.fail(error) }
    }
}

struct AdminTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-token",
                                                    abstract: "Create (or replace) a named admin token in a store; prints it once (the store keeps its SHA-256).")
    @Option(name: .long, help: "Data directory of the store.") var store: String
    @Option(name: .long, help: StoreOpening.databaseHelp) var database: String?
    @Option(name: .long, help: "Token name (recorded as the actor of its changes).") var name: String

    func run() async throws {
        guard !name.isEmpty, name.count <= 64 else { throw ValidationError("the name must be 1 to 64 characters") }
        let target = try await StoreOpening.open(directory: store, database: database)
        let token = try await AdminTokens.create(name: name, in: target)
        try await target.close()
        print(token)
    }
}

struct AdminPutProductCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put-product",
                                                    abstract: "Create or replace a product: the APIs it groups (its policy: put-policy product:<id>).")
    @OptionGroup var connection: AdminConnection
    @Argument(help: "Product id.") var id: String
    @Option(name: .long, help: "An API of the product (repeat for more).") var api: [String] = []
    @Option(name: .long, help: "Display name (context.Product.Name).") var name: String?
    @Flag(name: .long, help: "An open product: its APIs may be called without a subscription key.") var open = false

    func run() async throws {
        do {
            var body: [String: Any] = ["apis": api, "subscriptionRequired": !open]
            if let name { body["name"] = name }
            let client = try connection.client()
            _ = try client.require(try await client.call("PUT", "/products/\(AdminIO.path(id))", body: try AdminIO.json(body)))
            print("products/\(id): \(api.isEmpty ? "no APIs" : api.joined(separator: ", "))\(open ? " (open)" : "") — in force")
        } catch let error as ValidationError { throw error } catch { throw AdminIO.fail(error) }
    }
}

/// Prints the keys once, as `create-token` prints its token: they are shown nowhere else but by
/// the admin API's listSecrets.
struct AdminCreateSubscriptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-subscription",
                                                    abstract: "Create or replace a subscription (scope product:<id>, api:<name> or all) and print its keys.")
    @OptionGroup var connection: AdminConnection
    @Argument(help: "Subscription id.") var id: String
    @Option(name: .long, help: "product:<id>, api:<name> or all.") var scope: String
    @Option(name: .long, help: "Display name (context.Subscription.Name).") var name: String?
    @Option(name: .long, help: "active, suspended, expired, submitted, rejected or cancelled.") var state: String = "active"

    func run() async throws {
        do {
            var body: [String: Any] = ["scope": scope, "state": state]
            if let name { body["name"] = name }
            let client = try connection.client()
            _ = try client.require(try await client.call("PUT", "/subscriptions/\(AdminIO.path(id))", body: try AdminIO.json(body)))
            let keys = try client.require(try await client.call("POST", "/subscriptions/\(AdminIO.path(id))/listSecrets"), [200]).json as? [String: Any]
            print("primary key:   \(keys?["primaryKey"] as? String ?? "?")")
            print("secondary key: \(keys?["secondaryKey"] as? String ?? "?")")
        } catch let error as ValidationError { throw error } catch { throw AdminIO.fail(error) }
    }
}

struct AdminRegenerateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "regenerate-key",
                                                    abstract: "Replace a subscription's primary or secondary key (the old one stops working) and print the new one.")
    @OptionGroup var connection: AdminConnection
    @Argument(help: "Subscription id.") var id: String
    @Argument(help: "primary or secondary.") var which: String

    func run() async throws {
        guard which == "primary" || which == "secondary" else { throw ValidationError("say primary or secondary") }
        do {
            let client = try connection.client()
            let path = "/subscriptions/\(AdminIO.path(id))"
            _ = try client.require(try await client.call("POST", path + (which == "primary" ? "/regeneratePrimaryKey" : "/regenerateSecondaryKey")))
            let keys = try client.require(try await client.call("POST", path + "/listSecrets"), [200]).json as? [String: Any]
            print(keys?[which == "primary" ? "primaryKey" : "secondaryKey"] as? String ?? "?")
        } catch let error as ValidationError { throw error } catch { throw AdminIO.fail(error) }
    }
}
