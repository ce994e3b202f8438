import Foundation
import Testing

@testable import Policies

@Suite struct ValidateContentRuntimeTests {
    static let example = """
        <validate-content unspecified-content-type-action="prevent" max-size="102400" size-exceeded-action="prevent" errors-variable-name="v">
            <content-type-map missing-content-type-value="application/json">
                <type from="application/hal+json" to="application/json" />
            </content-type-map>
            <content type="application/json" validate-as="json" action="prevent" />
        </validate-content>
        """

    func put(_ body: String, contentType: String? = "application/json", policy: String = example,
             schemas: [String: NamedSchema] = [:]) async throws -> PolicyResult {
        let xml = document(inbound: policy, outbound: errorsHeader("v"))
        let headers = contentType.map { [PolicyHeader("Content-Type", $0)] } ?? []
        let (result, _) = try await execute(xml, request(method: "PUT", headers: headers), body: BufferedBody(body),
                                            options: validationOptions(try compiledDescription(), schemas: schemas))
        return result
    }

    @Test func aConformingBodyPasses() async throws {
        let result = try await put(#"{"name":"pen","price":1.5,"note":null,"children":[{"name":"cap","price":0.1}]}"#)
        #expect(result.status == 200)
        #expect(result.backendCalled)
    }

    @Test func aBodyBreakingTheSchemaIsRefusedWithAPMsMessage() async throws {
        let result = try await put("{\n  \"name\": \"pen\",\n  \"price\": \"cheap\"\n}")
        #expect(result.status == 400)
        let message = "Body of the request does not conform to the definition Item, which is associated with the content type application/json. Invalid type. Expected Number but got String. Path 'price'. Line: 3, Position: 12"
        #expect(result.lastError?.message == message)
        #expect(result.bodyText?.contains("Invalid type. Expected Number but got String.") == true)
    }

    @Test func recursiveReferencesAndRequiredPropertiesAreChecked() async throws {
        let result = try await put(#"{"name":"pen","price":1,"children":[{"name":"cap"}]}"#)
        #expect(result.status == 400)
        #expect(result.lastError?.message.contains("Required properties are missing from object: price. Path 'children[0]'.") == true)
    }

    @Test func theContentTypeMapAppliesAndUnknownTypesAreUnspecified() async throws {
        #expect(try await put(#"{"name":"pen","price":2}"#, contentType: "application/hal+json").status == 200)
        #expect(try await put(#"{"name":"pen","price":2}"#, contentType: nil).status == 200)
        let text = try await put("name=pen", contentType: "application/x-www-form-urlencoded")
        #expect(text.status == 400)
        #expect(text.lastError?.message == "Unspecified content type application/x-www-form-urlencoded is not allowed.")
    }

    @Test func malformedJSONIsAnIncorrectMessage() async throws {
        let result = try await put(#"{"name": "pen", "name": "cap", "price": 1}"#)
        #expect(result.status == 400)
        #expect(result.lastError?.message.contains("Duplicate property name 'name'.") == true)
    }

    @Test func allowAdditionalPropertiesFalseForbidsUnnamedProperties() async throws {
        let strict = Self.example.replacingOccurrences(of: #"action="prevent" />"#, with: #"action="detect" allow-additional-properties="false" />"#)
        let result = try await put(#"{"name":"pen","price":1,"colour":"red"}"#, policy: strict)
        #expect(result.status == 200)
        #expect(result.header("X-Errors")?.contains("Property 'colour' has not been defined and the schema does not allow additional properties.") == true)
        #expect(result.header("X-Errors")?.contains(#""Action":"detect""#) == true)
    }

    @Test func theSizeLimitComesFirst() async throws {
        let small = Self.example.replacingOccurrences(of: #"max-size="102400""#, with: #"max-size="10""#)
        let result = try await put(#"{"name":"pen","price":1}"#, policy: small)
        #expect(result.status == 400)
        #expect(result.bodyText?.contains("Request's body is 24 bytes long and it exceeds the limit of 10 bytes.") == true)
    }

    @Test func aNamedSchemaWithASchemaRefValidates() async throws {
        let text = #"{"$defs":{"address":{"type":"object","required":["city"],"properties":{"city":{"type":"string"}}}}}"#
        let schema = try NamedSchema(id: "shared", json: try StrictJSON.parse(Array(text.utf8)), source: Array(text.utf8))
        let policy = ##"<validate-content unspecified-content-type-action="prevent" max-size="1000" size-exceeded-action="prevent"><content type="application/json" validate-as="json" schema-id="shared" schema-ref="#/$defs/address" action="prevent" /></validate-content>"##
        #expect(try await put(#"{"city":"Oslo"}"#, policy: policy, schemas: ["shared": schema]).status == 200)
        let result = try await put(#"{"town":"Oslo"}"#, policy: policy, schemas: ["shared": schema])
        #expect(result.status == 400)
        #expect(result.lastError?.message.contains("definition shared (#/$defs/address)") == true)
    }

    @Test func responsesAreValidatedInOutboundWith502() async throws {
        let xml = document(outbound: #"<validate-content unspecified-content-type-action="ignore" max-size="1000" size-exceeded-action="prevent"><content type="application/json" validate-as="json" action="prevent" /></validate-content>"#)
        let backend = RecordingBackend(status: 200, headers: [PolicyHeader("Content-Type", "application/json")], body: #"{"name":"","price":1}"#)
        let (result, _) = try await execute(xml, request(headers: [PolicyHeader("X-Tenant", "a")]), backend: backend,
                                            options: validationOptions(try compiledDescription()))
        #expect(result.status == 502)
        #expect(result.bodyText?.contains("Contact the API owner") == true)
        #expect(result.lastError?.message.contains("String '' is less than minimum length of 1.") == true)
    }

    static let ordersXSD = #"""
        <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:orders" xmlns:o="urn:orders" elementFormDefault="qualified">
          <xs:element name="Order" type="o:OrderType"/>
          <xs:element name="Ping"><xs:complexType/></xs:element>
          <xs:complexType name="OrderType">
            <xs:sequence>
              <xs:element name="Sku" type="o:Sku"/>
              <xs:element name="Quantity" type="xs:int"/>
              <xs:element name="Note" type="xs:string" minOccurs="0"/>
              <xs:element name="Line" minOccurs="0" maxOccurs="unbounded">
                <xs:complexType><xs:attribute name="n" type="xs:positiveInteger" use="required"/></xs:complexType>
              </xs:element>
            </xs:sequence>
            <xs:attribute name="priority" type="xs:boolean"/>
          </xs:complexType>
          <xs:simpleType name="Sku"><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{3}-\d+"/></xs:restriction></xs:simpleType>
        </xs:schema>
        """#

    static let xmlPolicy = """
        <validate-content unspecified-content-type-action="prevent" max-size="102400" size-exceeded-action="prevent">
            <content type="application/xml" validate-as="xml" schema-id="orders" action="prevent" />
        </validate-content>
        """

    @Test("XML bodies against an XSD", arguments: [
        (#"<Order xmlns="urn:orders" priority="true"><Sku>ABC-1</Sku><Quantity> 3 </Quantity><Line n="1"/><Line n="2"/></Order>"#, nil),
        (#"<Order xmlns="urn:orders"><Sku>abc</Sku><Quantity>3</Quantity></Order>"#, "The Pattern constraint failed."),
        (#"<Order xmlns="urn:orders"><Sku>ABC-1</Sku><Quantity>three</Quantity></Order>"#, "The string 'three' is not a valid int value."),
        (#"<Order xmlns="urn:orders"><Sku>ABC-1</Sku></Order>"#, "The element 'Order' has incomplete content. List of possible elements expected: 'Sku, Quantity, Note, Line'."),
        (#"<Order xmlns="urn:orders"><Sku>ABC-1</Sku><Quantity>1</Quantity><Foo/></Order>"#, "has invalid child element 'Foo'"),
        (#"<Order xmlns="urn:orders"><Sku>ABC-1</Sku><Quantity>1</Quantity><Line/></Order>"#, "The required attribute 'n' is missing."),
        (#"<Order xmlns="urn:orders" rush="1"><Sku>ABC-1</Sku><Quantity>1</Quantity></Order>"#, "The 'rush' attribute is not declared."),
        (#"<Order><Sku>ABC-1</Sku><Quantity>1</Quantity></Order>"#, "The 'Order' element is not declared."),
        (#"<o:Order xmlns:o="urn:orders"><o:Sku>ABC-1</o:Sku>text<o:Quantity>1</o:Quantity></o:Order>"#, "cannot contain text"),
    ] as [(String, String?)])
    func xmlAgainstAnXSD(body: String, expected: String?) async throws {
        let orders = try NamedSchema(id: "orders", xml: Array(Self.ordersXSD.utf8))
        let result = try await put(body, contentType: "application/xml", policy: Self.xmlPolicy, schemas: ["orders": orders])
        if let expected {
            #expect(result.status == 400)
            #expect(result.lastError?.message.contains(expected) == true, "\(result.lastError?.message ?? "")")
        } else {
            #expect(result.status == 200, "\(result.lastError?.message ?? "")")
        }
    }

    @Test func soapBodiesAreValidatedPartByPart() async throws {
        let orders = try NamedSchema(id: "myschema", xml: Array(Self.ordersXSD.utf8))
        let policy = """
            <validate-content unspecified-content-type-action="prevent" max-size="102400" size-exceeded-action="prevent">
                <content-type-map any-content-type-value="application/soap+xml" />
                <content type="application/soap+xml" validate-as="soap" schema-id="myschema" action="prevent" />
            </validate-content>
            """
        func envelope(_ body: String) -> String {
            #"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body>"# + body + "</s:Body></s:Envelope>"
        }
        let valid = envelope(#"<Ping xmlns="urn:orders"/>"#)
        #expect(try await put(valid, contentType: "text/xml", policy: policy, schemas: ["myschema": orders]).status == 200)
        let wrong = try await put(envelope(#"<Order xmlns="urn:orders"><Sku>ABC-1</Sku></Order>"#), contentType: "text/xml", policy: policy, schemas: ["myschema": orders])
        #expect(wrong.status == 400)
        #expect(wrong.lastError?.message.contains("has incomplete content") == true)
        let notSoap = try await put("<Ping/>", contentType: "text/xml", policy: policy, schemas: ["myschema": orders])
        #expect(notSoap.status == 400)
        #expect(notSoap.lastError?.message.contains("not a SOAP 1.1 or 1.2 Envelope") == true)
        let broken = try await put("<s:Envelope", contentType: "text/xml", policy: policy, schemas: ["myschema": orders])
        #expect(broken.status == 400)
    }

    @Test("XSD constructs outside the subset do not load", arguments: [
        #"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:import namespace="urn:x"/></xs:schema>"#,
        #"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:simpleType name="l"><xs:list itemType="xs:int"/></xs:simpleType></xs:schema>"#,
        #"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="xs:gibberish"/></xs:schema>"#,
        #"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="b"/></xs:schema>"#,
        #"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:simpleType name="p"><xs:restriction base="xs:string"><xs:pattern value="(a)\1"/></xs:restriction></xs:simpleType></xs:schema>"#,
        "<schema/>",
        #"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:complexType name="A"><xs:complexContent><xs:extension base="B"/></xs:complexContent></xs:complexType><xs:complexType name="B"><xs:complexContent><xs:extension base="A"/></xs:complexContent></xs:complexType></xs:schema>"#,
    ])
    func refusedSchemas(text: String) {
        #expect(throws: SchemaError.self) { try NamedSchema(id: "x", xml: Array(text.utf8)) }
    }

    @Test func anUnknownSchemaIDDoesNotLoad() throws {
        let policy = #"<validate-content unspecified-content-type-action="prevent" max-size="1000" size-exceeded-action="prevent"><content type="application/json" validate-as="json" schema-id="nope" action="prevent" /></validate-content>"#
        #expect(throws: PolicyPipelineError.self) { try pipeline(document(inbound: policy), options: validationOptions(nil)) }
        let errors = loadErrors(#"<validate-content unspecified-content-type-action="prevent" max-size="200000" size-exceeded-action="prevent" />"#)
        #expect(errors.contains { $0.contains("'max-size'") })
    }
}

@Suite struct ValidateODataRequestRuntimeTests {
    func run(_ policy: String = #"<validate-odata-request error-variable-name="v" min-odata-version="4.0" max-odata-version="4.01" max-size="100" />"#,
             query: [(name: String, value: String)] = [], headers: [PolicyHeader] = []) async throws -> PolicyResult {
        let xml = document(inbound: policy, outbound: errorsHeader("v"))
        let (result, _) = try await execute(xml, request(query: query, headers: headers))
        return result
    }

    @Test func aWellFormedODataRequestPasses() async throws {
        let result = try await run(query: [("$filter", "Name eq 'O''Neil' and (Price gt 5)"), ("$top", "10"), ("$count", "true"), ("custom", "x")],
                                   headers: [PolicyHeader("OData-Version", "4.0")])
        #expect(result.status == 200)
        #expect(result.header("X-Errors") == "none")
    }

    @Test("bad requests are refused with 400", arguments: [
        ([("$top", "-1")], [], "The value '-1' of $top is not a non-negative integer."),
        ([("$bogus", "1")], [], "The query parameter $bogus is not a supported OData system query option."),
        ([("$filter", "(Name eq 'x'")], [], "The value of $filter is not well-formed"),
        ([("$skip", "1"), ("$skip", "2")], [], "The system query option $skip is given more than once."),
        ([("$compute", "a add b as c")], [], "not available in OData 4.0"),
        ([], [("OData-Version", "five")], "is not a valid OData version"),
    ] as [([(String, String)], [(String, String)], String)])
    func refused(query: [(String, String)], headers: [(String, String)], expected: String) async throws {
        let result = try await run(query: query.map { (name: $0.0, value: $0.1) }, headers: headers.map { PolicyHeader($0.0, $0.1) })
        #expect(result.status == 400)
        #expect(result.bodyText?.contains(expected) == true, "\(result.bodyText ?? "")")
        #expect(result.lastError?.source == "validate-odata-request")
    }

    @Test func version401AllowsCaseInsensitiveNamesAndTheDefaultVersionApplies() async throws {
        let policy = #"<validate-odata-request default-odata-version="4.01" />"#
        #expect(try await run(policy, query: [("$TOP", "5"), ("$compute", "a add b as c")]).status == 200)
        let lowVersion = try await run(#"<validate-odata-request min-odata-version="4.01" />"#, headers: [PolicyHeader("OData-Version", "4.0")])
        #expect(lowVersion.status == 400)
        #expect(lowVersion.bodyText?.contains("lower than the minimum version 4.01") == true)
    }

    @Test func loadErrors() {
        #expect(!statementLoadErrors(#"<validate-odata-request default-odata-version="5.0" />"#).isEmpty)
        #expect(!statementLoadErrors(#"<validate-odata-request min-odata-version="4.01" max-odata-version="4.0" />"#).isEmpty)
        #expect(!statementLoadErrors(#"<validate-odata-request />"#, section: .outbound).isEmpty)
    }
}
