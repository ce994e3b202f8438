import GatewayConfiguration
import Logging
import NIOPosix
import Policies

/// The key documents of `validate-jwt` `<openid-config>` and `validate-azure-ad-token` fetched as the
/// gateway fetches them (`HTTPKeyDocumentFetcher` on the backend client, the configuration's backend
/// trust, 10 s for a whole answer), for tools that run policies outside a served gateway
/// (`drawbridge policy test`). `shutdown()` when done.
public final class GatewayKeyDocuments: Sendable {
    private let forwarder: BackendForwarder
    public let fetcher: any PolicyKeyDocumentFetching

    public init(backend: BackendConfig = BackendConfig()) throws {
        var config = backend
        config.maxConnectionsPerHost = 4
        forwarder = try BackendForwarder(config: config, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                                         logger: Logger(label: "drawbridge.keys"))
        fetcher = HTTPKeyDocumentFetcher(forwarder: forwarder, timeout: .seconds(10))
    }

    public func shutdown() async {
        await forwarder.shutdown()
    }
}
