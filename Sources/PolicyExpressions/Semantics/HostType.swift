import Foundation

/// An object the embedding application (or the library itself) exposes to expressions:
/// `context` and everything under it, `X509Certificate2`, `Match`, `Jwt`, ...
/// The binder reads `hostType` members at compile time; the runtime calls the closures it captured.
public protocol HostObject: AnyObject, Sendable {
    var hostType: HostType { get }
    /// The object as an `X509Certificate2` facade, if it is one. Conformers of `X509Certificate2Object`
    /// get this for free; it lets certificate members dispatch without a dynamic protocol cast.
    var x509Certificate: (any X509Certificate2Object)? { get }
    /// Runs `body` on the object's `X509Certificate2` facade, borrowed (no retain), or returns nil if it has none.
    func withX509Certificate(_ body: (any X509Certificate2Object) throws -> Value) rethrows -> Value?
}

extension HostObject {
    public var x509Certificate: (any X509Certificate2Object)? { nil }
    public func withX509Certificate(_ body: (any X509Certificate2Object) throws -> Value) rethrows -> Value? { nil }
}

/// Casts a host object to its concrete class: an exact-class check plus an unchecked downcast on the
/// hot path (a dynamic `as?` cast costs tens of nanoseconds), `as?` for subclasses.
@inline(__always)
func hostCast<Object: HostObject>(_ object: any HostObject, to _: Object.Type) -> Object? {
    if ObjectIdentifier(type(of: object)) == ObjectIdentifier(Object.self) {
        return unsafeDowncast(object, to: Object.self)
    }
    return object as? Object
}

/// Describes a host type to the binder: member names, member types and method signatures, each
/// with the closure the compiled expression calls. Immutable once built, so it is `Sendable`.
/// A host object that can be enumerated (`foreach`, LINQ); its `HostType` declares `elementType`.
public protocol EnumerableHostObject: HostObject {
    func elements() throws -> [Value]
}

public final class HostType: @unchecked Sendable, Hashable, CustomStringConvertible {
    public let name: String
    /// Types this one can be cast to (interfaces/base classes), e.g. `IResponse` for a send-request result.
    public let conformances: [HostType]
    /// For enumerable host types (`MatchCollection`, ...).
    let elementType: ExpressionType?
    /// The `ToString()` a .NET object of this type would produce; defaults to the type's name.
    let toString: (@Sendable (any HostObject) -> String)?
    /// Members are produced lazily (once, under a lock) so that types can refer to themselves.
    private let memberSource: @Sendable () -> [HostMember]
    private let lock = NSLock()
    private var resolved: (properties: [String: HostProperty], methods: [String: [HostMethod]])?

    public init(name: String, conformances: [HostType] = [], members: @autoclosure @escaping @Sendable () -> [HostMember],
                elementType: ExpressionType? = nil, toString: (@Sendable (any HostObject) -> String)? = nil) {
        self.name = name
        self.conformances = conformances
        self.memberSource = members
        self.elementType = elementType ?? conformances.lazy.compactMap(\.elementType).first
        self.toString = toString ?? conformances.lazy.compactMap(\.toString).first
    }

    private func members() -> (properties: [String: HostProperty], methods: [String: [HostMethod]]) {
        lock.lock()
        if let resolved { lock.unlock(); return resolved }
        lock.unlock()
        var properties: [String: HostProperty] = [:]
        var methods: [String: [HostMethod]] = [:]
        for base in conformances {
            properties.merge(base.properties) { own, _ in own }
            methods.merge(base.methods) { own, _ in own }
        }
        for member in memberSource() {
            switch member {
            case .property(let property): properties[property.name] = property
            case .method(let method):
                var list = methods[method.name] ?? []
                list.removeAll { $0.parameters == method.parameters }
                list.append(method)
                methods[method.name] = list
            }
        }
        lock.lock()
        resolved = (properties, methods)
        lock.unlock()
        return (properties, methods)
    }

    var properties: [String: HostProperty] { members().properties }
    var methods: [String: [HostMethod]] { members().methods }

    public var description: String { name }

    public static func == (lhs: HostType, rhs: HostType) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }

    /// True when a value of this runtime type may be cast to `target`.
    public func isAssignable(to target: HostType) -> Bool {
        if self === target { return true }
        return conformances.contains { $0.isAssignable(to: target) }
    }

    public var memberNames: [String] { Array(properties.keys) + Array(methods.keys) }
}

public enum HostMember: Sendable {
    case property(HostProperty)
    case method(HostMethod)

    /// A read-only property whose getter receives the concrete host class.
    public static func property<Object: HostObject>(
        _ name: String, _ type: ExpressionType, of _: Object.Type = Object.self,
        _ get: @escaping @Sendable (Object) throws -> Value
    ) -> HostMember {
        .property(HostProperty(name: name, type: type) { object in
            guard let typed = hostCast(object, to: Object.self) else {
                throw ExpressionRuntimeError.invalidCast(from: object.hostType.name, to: String(describing: Object.self))
            }
            return try get(typed)
        })
    }

    /// A method whose implementation receives the concrete host class and the evaluated arguments.
    public static func method<Object: HostObject>(
        _ name: String, _ parameters: [ExpressionType], returns: ExpressionType, of _: Object.Type = Object.self,
        _ invoke: @escaping @Sendable (Object, [Value]) throws -> Value
    ) -> HostMember {
        .method(HostMethod(name: name, parameters: parameters, returnType: returns) { object, arguments in
            guard let typed = hostCast(object, to: Object.self) else {
                throw ExpressionRuntimeError.invalidCast(from: object.hostType.name, to: String(describing: Object.self))
            }
            return try invoke(typed, arguments)
        })
    }
}

public struct HostProperty: Sendable {
    public let name: String
    public let type: ExpressionType
    public let get: @Sendable (any HostObject) throws -> Value

    public init(name: String, type: ExpressionType, get: @escaping @Sendable (any HostObject) throws -> Value) {
        self.name = name
        self.type = type
        self.get = get
    }
}

public struct HostMethod: Sendable {
    public let name: String
    public let parameters: [ExpressionType]
    public let returnType: ExpressionType
    public let invoke: @Sendable (any HostObject, [Value]) throws -> Value

    public init(name: String, parameters: [ExpressionType], returnType: ExpressionType,
                invoke: @escaping @Sendable (any HostObject, [Value]) throws -> Value) {
        self.name = name
        self.parameters = parameters
        self.returnType = returnType
        self.invoke = invoke
    }
}
