import Foundation
import PolicyExpressions
import Testing

@testable import Policies

/// The XSD subset's content models (XML Schema Part 1, §3.8–3.9): sequence, choice, all, occurrences,
/// extension of a complex type, simple content, references and recursion.
@Suite struct XMLSchemaTests {
    static let schema = #"""
        <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
          <xs:element name="shape">
            <xs:complexType>
              <xs:choice maxOccurs="2">
                <xs:element name="circle" type="xs:decimal"/>
                <xs:element name="square"><xs:simpleType><xs:restriction base="xs:int"><xs:minInclusive value="1"/><xs:maxExclusive value="10"/></xs:restriction></xs:simpleType></xs:element>
              </xs:choice>
            </xs:complexType>
          </xs:element>
          <xs:element name="person" type="Employee"/>
          <xs:complexType name="Employee">
            <xs:complexContent><xs:extension base="Person"><xs:sequence><xs:element name="badge" type="xs:string"/></xs:sequence></xs:extension></xs:complexContent>
          </xs:complexType>
          <xs:complexType name="Person">
            <xs:all><xs:element name="first" type="xs:string"/><xs:element name="last" type="xs:string" minOccurs="0"/></xs:all>
            <xs:attribute name="id" type="xs:int" use="required"/>
          </xs:complexType>
          <xs:element name="price">
            <xs:complexType><xs:simpleContent><xs:extension base="xs:decimal"><xs:attribute name="currency" type="xs:string"/></xs:extension></xs:simpleContent></xs:complexType>
          </xs:element>
          <xs:element name="node">
            <xs:complexType><xs:sequence><xs:element ref="node" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
          </xs:element>
          <xs:element name="flag" type="xs:boolean" nillable="true"/>
          <xs:element name="code" type="ShortCode"/>
          <xs:simpleType name="ShortCode"><xs:restriction base="Code"><xs:maxLength value="3"/></xs:restriction></xs:simpleType>
          <xs:simpleType name="Code"><xs:restriction base="xs:token"><xs:enumeration value="ab"/><xs:enumeration value="abcd"/></xs:restriction></xs:simpleType>
        </xs:schema>
        """#

    @Test("instances", arguments: [
        ("<shape><circle>1.5</circle><square>3</square></shape>", nil),
        ("<shape><square>10</square></shape>", "The MaxExclusive constraint failed."),
        ("<shape/>", "has incomplete content"),
        ("<shape><circle>1</circle><circle>2</circle><circle>3</circle></shape>", "has invalid child element 'circle'"),
        (#"<person id="7"><last>L</last><first>F</first><badge>B</badge></person>"#, nil),
        (#"<person id="7"><first>F</first></person>"#, "has incomplete content"),
        (#"<person><first>F</first><badge>B</badge></person>"#, "The required attribute 'id' is missing."),
        (#"<price currency="EUR">9.99</price>"#, nil),
        (#"<price>nine</price>"#, "is not a valid decimal value"),
        ("<node><node><node/></node><node/></node>", nil),
        ("<node><node><leaf/></node></node>", "has invalid child element 'leaf'"),
        (#"<flag xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>"#, nil),
        ("<flag>maybe</flag>", "is not a valid boolean value"),
        ("<code> ab </code>", nil),  // token: whitespace collapsed; a restriction of a type declared after it
        ("<code>abcd</code>", "The actual length is greater than the MaxLength value."),
        ("<code>abc</code>", "The Enumeration constraint failed."),
    ] as [(String, String?)])
    func instance(xml: String, expected: String?) throws {
        let set = try XMLSchemaSet.compile(Array(Self.schema.utf8))
        let nodes = try StrictXML.parse(Array(xml.utf8))
        var validation = XMLSchemaSet.Validation(set: set, nodes: nodes)
        validation.validateGlobal(0)
        if let expected {
            #expect(validation.errors.first?.contains(expected) == true, "\(validation.errors)")
        } else {
            #expect(validation.errors.isEmpty, "\(validation.errors)")
        }
    }

    @Test func manyChildrenAreMatchedInLinearTime() throws {
        let set = try XMLSchemaSet.compile(Array(Self.schema.utf8))
        let xml = "<node>" + String(repeating: "<node/>", count: 20_000) + "</node>"
        let nodes = try StrictXML.parse(Array(xml.utf8))
        var validation = XMLSchemaSet.Validation(set: set, nodes: nodes)
        let elapsed = ContinuousClock().measure { validation.validateGlobal(0) }
        #expect(validation.errors.isEmpty)
        #expect(elapsed < .seconds(5))
    }
}
