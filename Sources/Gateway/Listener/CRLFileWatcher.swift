import Foundation
import GatewayConfiguration
import Logging

/// Reloads the configuration when a configured CRL file changes (size, modification time or inode),
/// so a new CRL dropped in place takes effect without a SIGHUP. The check is a `stat` per CRL file
/// every `policies.revocation.crlFileCheck` (default 30 s; 0 turns it off). A changed file that cannot
/// be used keeps the running configuration (logged) and is tried again at the next check.
struct CRLFileWatcher: Sendable {
    struct Stamp: Equatable, Sendable {
        let path: String
        let size: Int
        let modified: Date?
        let inode: Int
    }

    static func paths(_ config: GatewayConfig) -> [String] {
        Array(Set(config.policies.revocation.crlFiles + config.hostnames.flatMap(\.crlFiles))).sorted()
    }

    static func stamps(_ paths: [String]) -> [Stamp] {
        paths.map { path in
            let attributes = (try? FileManager.default.attributesOfItem(atPath: path)) ?? [:]
            return Stamp(path: path, size: (attributes[.size] as? Int) ?? -1, modified: attributes[.modificationDate] as? Date,
                         inode: (attributes[.systemFileNumber] as? Int) ?? -1)
        }
    }

    /// Runs until the task is cancelled. `current` gives the configuration in force; `reload` applies one.
    static func run(current: @Sendable () -> GatewayConfig, reload: @Sendable (GatewayConfig) throws -> Void, logger: Logger) async {
        var config = current()
        var known = stamps(paths(config))
        while !Task.isCancelled {
            let seconds = config.policies.revocation.crlFileCheck
            guard seconds > 0 else {
                // Off: look again later in case a reload turns it on.
                try? await Task.sleep(for: .seconds(30))
                config = current()
                known = stamps(paths(config))
                continue
            }
            try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            if Task.isCancelled { return }
            let latest = current()
            let now = stamps(paths(latest))
            if latest != config {
                // A reload (SIGHUP) happened meanwhile: it read the files itself.
                config = latest
                known = now
                continue
            }
            guard now != known, !paths(latest).isEmpty else { continue }
            do {
                try reload(latest)
                known = now
                logger.info("CRL file changed: configuration reloaded", metadata: ["files": "\(paths(latest).joined(separator: ", "))"])
            } catch {
                logger.warning("CRL file changed but cannot be used; the running CRLs stay in force", metadata: ["error": "\(error)"])
            }
        }
    }
}
