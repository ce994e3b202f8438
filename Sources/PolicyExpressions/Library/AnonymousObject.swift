/// An instance of a C# anonymous type (`new { typ = "JWT", alg = "HS256" }`): read-only properties
/// in declaration order; `ToString()` as .NET writes it (`{ typ = JWT, alg = HS256 }`); serialised by
/// `JsonConvert.SerializeObject` as an object with those properties in that order.
final class AnonymousObject: HostObject, @unchecked Sendable {
    let type: HostType
    let names: [String]
    let values: [Value]

    init(type: HostType, names: [String], values: [Value]) {
        self.type = type
        self.names = names
        self.values = values
    }

    var hostType: HostType { type }

    /// `ToString()`: `{ name = value, … }`.
    var text: String {
        let parts = zip(names, values).map { "\($0.0) = \(Formatting.toString($0.1))" }
        return parts.isEmpty ? "{ }" : "{ " + parts.joined(separator: ", ") + " }"
    }

    /// The type of one `new { … }` expression (each expression has its own, as in C#).
    static func makeType(names: [String], types: [ExpressionType]) -> HostType {
        let properties: [HostMember] = zip(names, types).enumerated().map { index, member in
            .property(member.0, member.1, of: AnonymousObject.self) { object in
                index < object.values.count ? object.values[index] : .null
            }
        }
        let members = properties + [.method("ToString", [], returns: .string, of: AnonymousObject.self) { object, _ in .string(object.text) }]
        return HostType(name: "<>f__AnonymousType", members: members, toString: { object in
            (object as? AnonymousObject)?.text ?? ""
        })
    }
}
