import Foundation
import Testing

@testable import Policies

/// The OpenAPI 3.0 description the validation tests use (API path `/echo`, see `request()`).
let petsOpenAPI = """
{
  "openapi": "3.0.3",
  "info": { "title": "Pets", "version": "1" },
  "paths": {
    "/items/{id}": {
      "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1 } } ],
      "get": {
        "parameters": [
          { "name": "verbose", "in": "query", "schema": { "type": "boolean" } },
          { "name": "tags", "in": "query", "schema": { "type": "array", "items": { "type": "string", "enum": ["a", "b"] } } },
          { "name": "X-Tenant", "in": "header", "required": true, "schema": { "type": "string", "pattern": "^[a-z]+$" } }
        ],
        "responses": {
          "200": {
            "description": "ok",
            "headers": { "X-Rate": { "schema": { "type": "integer", "maximum": 100 } } },
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Item" } } }
          },
          "4XX": { "description": "client error" }
        }
      },
      "put": {
        "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Item" } } } },
        "responses": { "204": { "description": "stored" } }
      }
    },
    "/items/mine": { "get": { "responses": { "200": { "description": "mine" } } } }
  },
  "components": {
    "schemas": {
      "Item": {
        "type": "object",
        "required": ["name", "price"],
        "properties": {
          "name": { "type": "string", "minLength": 1, "maxLength": 20 },
          "price": { "type": "number", "exclusiveMinimum": true, "minimum": 0 },
          "note": { "type": "string", "nullable": true },
          "children": { "type": "array", "items": { "$ref": "#/components/schemas/Item" } }
        }
      }
    }
  }
}
"""

func compiledDescription(_ text: String = petsOpenAPI) throws -> APIDescription {
    try APIDescription.compile(try StrictJSON.parse(Array(text.utf8)), source: Array(text.utf8))
}

func validationOptions(_ description: APIDescription? = nil, schemas: [String: NamedSchema] = [:]) -> PolicyPipelineOptions {
    var options = PolicyPipelineOptions(tracing: true)
    options.apiDescription = description
    options.schemas = schemas
    return options
}

/// An outbound `set-header` that copies the errors variable `name` (JSON) into `X-Errors`.
func errorsHeader(_ name: String) -> String {
    #"<set-header name="X-Errors" exists-action="override"><value>@(context.Variables.ContainsKey("\#(name)") ? context.Variables.GetValueOrDefault<JArray>("\#(name)").ToString(Newtonsoft.Json.Formatting.None) : "none")</value></set-header>"#
}

extension PolicyResult {
    func header(_ name: String) -> String? { headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value }
}
