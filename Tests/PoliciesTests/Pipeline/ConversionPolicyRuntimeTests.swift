import Foundation
import Testing

@testable import Policies

/// `json-to-xml` and `xml-to-json` through the pipeline (outbound, on the backend's answer).
@Suite struct ConversionPolicyRuntimeTests {
    func convert(_ policy: String, body: String, contentType: String = "application/json", accept: String? = nil) async throws -> PolicyResult {
        let backend = RecordingBackend(status: 200, headers: [PolicyHeader("Content-Type", contentType)], body: body)
        let headers = accept.map { [PolicyHeader("Accept", $0)] } ?? []
        let (result, _) = try await execute(document(outbound: policy), request(headers: headers), backend: backend)
        return result
    }

    func contentType(_ result: PolicyResult) -> String? { result.headers.first { $0.name.lowercased() == "content-type" }?.value }

    @Test func jsonBecomesXMLAsJsonNETWritesIt() async throws {
        let json = ##"{"a":"x<&>","n":[1,2],"o":{"#attrs":{"id":"7"},"b":null},"s p":true,"f":1.5}"##
        let result = try await convert(##"<json-to-xml apply="always" consider-accept-header="false" attribute-block-name="#attrs" />"##, body: json)
        #expect(result.bodyText == #"<Document><a>x&lt;&amp;&gt;</a><n>1</n><n>2</n><o id="7"><b /></o><s_x0020_p>true</s_x0020_p><f>1.5</f></Document>"#)
        #expect(contentType(result) == "application/xml")
        let namespaced = try await convert(
            #"<json-to-xml apply="always" consider-accept-header="false" namespace-separator="_" attribute-block-name="$" />"#,
            body: #"{"soap_Envelope":{"$":{"xmlns_soap":"urn:s"},"soap_Body":"b"}}"#)
        #expect(namespaced.bodyText == #"<Document><soap:Envelope xmlns:soap="urn:s"><soap:Body>b</soap:Body></soap:Envelope></Document>"#)
    }

    @Test func jsonToXMLConvertsOnlyWhenAskedAndWhenJSON() async throws {
        let json = #"{"a":1}"#
        let considered = #"<json-to-xml apply="content-type-json" />"#
        #expect(try await convert(considered, body: json).bodyText == json)  // no Accept asking for XML
        #expect(try await convert(considered, body: json, accept: "text/html, application/xml;q=0.9").bodyText == "<Document><a>1</a></Document>")
        #expect(try await convert(considered, body: json, contentType: "text/plain", accept: "application/xml").bodyText == json)
        let always = #"<json-to-xml apply="always" consider-accept-header="false" />"#
        let notJSON = try await convert(always, body: "plain text", contentType: "text/plain")
        #expect(notJSON.bodyText == "plain text")
        #expect(contentType(notJSON) == "text/plain")
    }

    @Test func xmlBecomesJSON() async throws {
        let xml = #"<?xml version="1.0"?><!-- c --><order id="7" xmlns:p="urn:p"><p:item sku="a">2</p:item><p:item sku="b">3</p:item><note>hi &amp; bye</note><empty/><one><x>1</x></one></order>"#
        let direct = try await convert(#"<xml-to-json kind="direct" apply="always" consider-accept-header="false" />"#, body: xml, contentType: "application/xml")
        #expect(direct.bodyText == ##"{"order":{"@id":"7","@xmlns:p":"urn:p","p:item":[{"@sku":"a","#text":"2"},{"@sku":"b","#text":"3"}],"note":"hi & bye","empty":null,"one":{"x":"1"}}}"##)
        #expect(contentType(direct) == "application/json")
        let friendly = try await convert(
            #"<xml-to-json kind="javascript-friendly" apply="content-type-xml" consider-accept-header="true" always-array-child-elements="true" />"#,
            body: #"<r a="1"><x>1</x></r>"#, contentType: "text/xml; charset=utf-8", accept: "application/json")
        #expect(friendly.bodyText == #"{"r":{"a":"1","x":["1"]}}"#)
    }

    @Test func xmlToJSONConvertsOnlyWhenAskedAndWhenXML() async throws {
        let considered = #"<xml-to-json kind="direct" apply="content-type-xml" />"#
        #expect(try await convert(considered, body: "<a>1</a>", contentType: "application/xml").bodyText == "<a>1</a>")
        #expect(try await convert(considered, body: "<a>1</a>", contentType: "application/xml", accept: "application/json").bodyText == #"{"a":"1"}"#)
        #expect(try await convert(considered, body: "<a>1</a>", contentType: "text/plain", accept: "application/json").bodyText == "<a>1</a>")
        let broken = try await convert(#"<xml-to-json kind="direct" apply="always" consider-accept-header="false" />"#, body: "<a><b></a>", contentType: "application/xml")
        #expect(broken.bodyText == "<a><b></a>")
        #expect(broken.status == 200)
    }

    @Test func loadErrorsAreClear() {
        #expect(loadErrors("<json-to-xml />", section: .outbound).first?.contains("'apply'") == true)
        #expect(loadErrors(#"<json-to-xml apply="sometimes" />"#, section: .outbound).first?.contains("apply") == true)
        #expect(loadErrors(#"<json-to-xml apply="always" namespace-separator="::" />"#, section: .outbound).first?.contains("one character") == true)
        #expect(loadErrors(#"<xml-to-json apply="always" />"#, section: .outbound).first?.contains("'kind'") == true)
        #expect(loadErrors(#"<xml-to-json kind="direct" apply="always" />"#, section: .backend).first?.contains("backend") == true)
    }
}
