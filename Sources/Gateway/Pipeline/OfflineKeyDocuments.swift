import Foundation
import Policies

/// The key-document fetcher of a snapshot built only to be checked (`drawbridge check`, tests): a
/// policy with `<openid-config>` loads, and a fetch fails (closed) — such a snapshot serves nothing.
struct OfflineKeyDocuments: PolicyKeyDocumentFetching {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "this configuration snapshot does not fetch documents" }
    }

    func fetch(_ url: URL, limit: Int) async throws -> [UInt8] { throw Unavailable() }
}
