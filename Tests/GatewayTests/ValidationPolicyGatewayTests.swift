import Foundation
import GatewayConfiguration
import Policies
import Testing

@testable import Gateway

/// The validation policies end to end: an API configured with an OpenAPI file (YAML), curl through
/// the gateway to the echo backend.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct ValidationPolicyGatewayTests {
    static let openAPI = """
        openapi: 3.1.0
        info: { title: Orders, version: "1" }
        paths:
          /orders/{id}:
            parameters:
              - { name: id, in: path, required: true, schema: { type: integer, minimum: 1 } }
            post:
              parameters:
                - { name: dryRun, in: query, schema: { type: boolean } }
              requestBody:
                content:
                  application/json:
                    schema: { $ref: '#/components/schemas/Order' }
              responses:
                '200': { description: ok, content: { application/json: { schema: { type: object } } } }
        components:
          schemas:
            Order:
              type: object
              required: [sku, quantity]
              additionalProperties: false
              properties:
                sku: { type: string, pattern: '^[A-Z]{3}-\\d+$' }
                quantity: { type: integer, minimum: 1, maximum: 100 }
        """

    static let policy = """
        <policies>
          <inbound>
            <validate-parameters specified-parameter-action="prevent" unspecified-parameter-action="prevent" errors-variable-name="p">
              <headers specified-parameter-action="detect" unspecified-parameter-action="ignore" />
            </validate-parameters>
            <validate-content unspecified-content-type-action="prevent" max-size="1024" size-exceeded-action="prevent" errors-variable-name="c">
              <content type="application/json" validate-as="json" action="prevent" />
            </validate-content>
          </inbound>
          <backend><forward-request /></backend>
          <outbound>
            <validate-status-code unspecified-status-code-action="prevent" />
          </outbound>
          <on-error />
        </policies>
        """

    static func call(_ gateway: TestGateway, _ method: String, _ path: String, json: String? = nil) async throws -> Curl.Result {
        var arguments = SecurityProbeTests.common(gateway) + ["--http1.1", "--max-time", "10", "-i", "-X", method]
        if let json { arguments += ["-H", "Content-Type: application/json", "--data-binary", json] }
        return try await Curl.run(arguments + ["\(gateway.baseURL)\(path)"])
    }

    @Test func requestsAreValidatedAgainstTheAPIsOpenAPIFile() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("validation-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.openAPI.write(toFile: folder + "/orders.yaml", atomically: true, encoding: .utf8)
        try Self.policy.write(toFile: folder + "/policy.xml", atomically: true, encoding: .utf8)
        let description = try SchemaDocumentReader.openAPI(folder + "/orders.yaml")
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis[1].policyFile = folder + "/policy.xml"
            config.apis[1].openAPIFile = folder + "/orders.yaml"
            config.apis[1].openAPI = description
        })
        let valid = try await Self.call(gateway, "POST", "/public/orders/7?dryRun=true", json: #"{"sku":"ABC-12","quantity":3}"#)
        #expect(valid.httpCode == 200, "\(valid.stdout) \(valid.stderr)")
        #expect(valid.body.contains(#""bodyBytes":29"#), "\(valid.body)")  // the echo backend received the body, unchanged

        let pattern = try await Self.call(gateway, "POST", "/public/orders/7", json: #"{"sku":"abc","quantity":3}"#)
        #expect(pattern.httpCode == 400)
        #expect(pattern.body.contains("String 'abc' does not match regex pattern"), "\(pattern.body)")
        #expect(pattern.body.contains(#""statusCode":400"#))

        let extra = try await Self.call(gateway, "POST", "/public/orders/7", json: #"{"sku":"ABC-1","quantity":3,"admin":true}"#)
        #expect(extra.httpCode == 400)
        #expect(extra.body.contains("Property 'admin' has not been defined"), "\(extra.body)")

        let path = try await Self.call(gateway, "POST", "/public/orders/0", json: #"{"sku":"ABC-1","quantity":3}"#)
        #expect(path.httpCode == 400)
        #expect(path.body.contains("path parameter id does not conform"), "\(path.body)")

        let query = try await Self.call(gateway, "POST", "/public/orders/7?debug=1", json: #"{"sku":"ABC-1","quantity":3}"#)
        #expect(query.httpCode == 400)
        #expect(query.body.contains("Unspecified query parameter debug is not allowed."), "\(query.body)")

        let empty = try await Self.call(gateway, "POST", "/public/orders/7", json: nil)
        #expect(empty.httpCode == 200, "\(empty.body)")  // no body: nothing to validate

        // GET is not described: the backend's 200 is not a status the description allows for it.
        let undescribed = try await Self.call(gateway, "GET", "/public/orders/7")
        #expect(undescribed.httpCode == 502)
        #expect(undescribed.body.contains("Contact the API owner"), "\(undescribed.body)")
        try await gateway.stop()
    }
}
