import Foundation
import GatewayConfiguration
import Policies
import Testing

/// `apis[].openapi` and `policies.schemas`: read (YAML or JSON), compiled at load, errors with file:line:col.
@Suite struct OpenAPIConfigTests {
    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static let yamlDescription = """
        openapi: 3.0.3
        info: { title: Orders, version: "1" }
        paths:
          /orders/{id}:
            get:
              parameters:
                - { name: id, in: path, required: true, schema: { type: integer } }
                - { name: code, in: query, schema: { type: string, enum: ["007", yes] } }
              responses:
                "200": { description: ok }
        """

    static func config(_ folder: String, api: String = "openapi: orders.yaml", policies: String = "") -> String {
        "hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\napis:\n  - { name: orders, backend: http://b, path: /orders, \(api) }\n\(policies)"
    }

    @Test func anOpenAPIFileAndSchemasLoadAndCompile() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.yamlDescription.write(toFile: folder + "/orders.yaml", atomically: true, encoding: .utf8)
        try #"{"type":"object","required":["a"]}"#.write(toFile: folder + "/a.json", atomically: true, encoding: .utf8)
        try "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"/>".write(toFile: folder + "/b.xsd", atomically: true, encoding: .utf8)
        let yaml = Self.config(folder, policies: "policies:\n  schemas: { a: a.json, b: b.xsd }\n")
        let config = try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: folder)
        let description = try #require(config.apis[0].openAPI)
        #expect(description.version == "3.0.3")
        #expect(description.operationCount == 1)
        #expect(config.apis[0].openAPIFile == folder + "/orders.yaml")
        #expect(config.policies.schemas["a"]?.kind == .json)
        #expect(config.policies.schemas["b"]?.kind == .xml)
        // The same files compare equal (a reload with nothing changed changes nothing).
        #expect(try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: folder) == config)
    }

    @Test func errorsNameTheFileAndPlace() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      requestBody:\n        content:\n          application/json:\n            schema: { type: strng }\n"
            .write(toFile: folder + "/bad.yaml", atomically: true, encoding: .utf8)
        #expect { try GatewayConfigLoader.parse(yaml: Self.config(folder, api: "openapi: bad.yaml"), file: "gw.yaml", baseDirectory: folder) } throws: { error in
            "\(error)" == "\(folder)/bad.yaml:8:29: OpenAPI description: unknown type 'strng' (expected string, number, integer, boolean, object, array or null)"
        }
        try "swagger: '1.2'\n".write(toFile: folder + "/old.yaml", atomically: true, encoding: .utf8)
        #expect { try GatewayConfigLoader.parse(yaml: Self.config(folder, api: "openapi: old.yaml"), file: "gw.yaml", baseDirectory: folder) } throws: { error in
            "\(error)".contains("'swagger' must be \"2.0\"")
        }
        #expect { try GatewayConfigLoader.parse(yaml: Self.config(folder, api: "openapi: missing.yaml"), file: "gw.yaml", baseDirectory: folder) } throws: { error in
            "\(error)".contains("missing.yaml: cannot read the file")
        }
        // A billion-laughs document is refused by its expanded size, not expanded.
        var laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 { laughs += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        try (laughs + "openapi: 3.0.0\n").write(toFile: folder + "/laughs.yaml", atomically: true, encoding: .utf8)
        #expect { try GatewayConfigLoader.parse(yaml: Self.config(folder, api: "openapi: laughs.yaml"), file: "gw.yaml", baseDirectory: folder) } throws: { error in
            "\(error)".contains("more than 1000000 values")
        }
    }
}
