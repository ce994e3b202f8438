import GatewayConfiguration
import Testing

struct GraphQLConfigTests {
    static let yaml = """
    listen: { address: 0.0.0.0, port: 9443 }
    hostnames:
      - name: api.example.com
        certificate: certs/server.pem
        key: certs/server-key.pem
    apis:
      - name: graph
        path: /graph
        graphql:
          schema: schema.graphql
          resolvers:
            - { type: Query, field: users, policy: users.xml }
      - name: passthrough
        path: /pass
        backend: https://graphql.internal/
        graphql: { schema: /abs/schema.graphql }
    """

    @Test func graphQLAPIsAreRead() throws {
        let config = try GatewayConfigLoader.parse(yaml: Self.yaml, file: "gw.yaml", baseDirectory: "/etc/drawbridge")
        #expect(config.apis[0].backendURL == GraphQLConfig.syntheticBackend)
        #expect(config.apis[0].graphQL == GraphQLConfig(schemaFile: "/etc/drawbridge/schema.graphql", resolvers: [
            GraphQLResolverConfig(type: "Query", field: "users", policyFile: "/etc/drawbridge/users.xml"),
        ]))
        #expect(config.apis[1].backendURL == "https://graphql.internal/")
        #expect(config.apis[1].graphQL == GraphQLConfig(schemaFile: "/abs/schema.graphql"))
    }

    @Test func mistakesAreNamed() {
        func message(_ yaml: String) -> String {
            do {
                _ = try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: "/etc")
                return ""
            } catch { return "\(error)" }
        }
        #expect(message(Self.yaml.replacingOccurrences(of: "field: users, ", with: "")).contains("a resolver needs 'type', 'field' and 'policy'"))
        #expect(message(Self.yaml.replacingOccurrences(of: "schema: schema.graphql", with: "sdl: x")).contains("sdl"))
        // Without resolvers, a GraphQL API passes requests through: it needs its backend.
        #expect(message(Self.yaml.replacingOccurrences(of: "    backend: https://graphql.internal/\n", with: "")).contains("needs 'backend'"))
    }
}
