/// Small constructors for library overload tables.
func m0(_ returns: ExpressionType, _ f: @escaping @Sendable (Value) throws -> Value) -> Overload {
    Overload([], returns, .a0(f))
}
func m1(_ p: ExpressionType, _ returns: ExpressionType, _ f: @escaping @Sendable (Value, Value) throws -> Value) -> Overload {
    Overload([p], returns, .a1(f))
}
func m2(_ p: ExpressionType, _ q: ExpressionType, _ returns: ExpressionType, _ f: @escaping @Sendable (Value, Value, Value) throws -> Value) -> Overload {
    Overload([p, q], returns, .a2(f))
}
func m3(_ p: ExpressionType, _ q: ExpressionType, _ r: ExpressionType, _ returns: ExpressionType,
        _ f: @escaping @Sendable (Value, Value, Value, Value) throws -> Value) -> Overload {
    Overload([p, q, r], returns, .a3(f))
}
func mn(_ parameters: [ExpressionType], _ returns: ExpressionType, params: Bool = false, _ f: @escaping @Sendable (Value, [Value]) throws -> Value) -> Overload {
    Overload(parameters, returns, isParams: params, .an(f))
}
/// A method whose last parameter (type `outType`) is `out`; `f` receives the inputs only.
func mout(_ inputs: [ExpressionType], out outType: ExpressionType, _ returns: ExpressionType,
          _ f: @escaping @Sendable (Value, [Value]) throws -> (Value, Value)) -> Overload {
    Overload(inputs + [outType], returns, .out(f))
}

/// Value accessors that raise .NET exceptions on null.
func str(_ v: Value) throws -> String {
    if case .string(let s) = v { return s }
    if case .null = v { throw ExpressionRuntimeError.nullReference() }
    return Formatting.toString(v)
}
func argStr(_ v: Value, _ name: String) throws -> String {
    if case .string(let s) = v { return s }
    if case .null = v { throw ExpressionRuntimeError.argumentNull(name) }
    return Formatting.toString(v)
}
func int(_ v: Value) throws -> Int { try Library.int(v) }
func dbl(_ v: Value) throws -> Double { try Conversions.toDouble(v) }
func dt(_ v: Value) throws -> DateTimeValue {
    if case .dateTime(let d) = v { return d }
    throw ExpressionRuntimeError.nullReference()
}
func ts(_ v: Value) throws -> TimeSpanValue {
    if case .timeSpan(let t) = v { return t }
    throw ExpressionRuntimeError.nullReference()
}
func enumRaw(_ v: Value) -> Int32 {
    if case .enumeration(let raw, _) = v { return raw }
    if case .int(let raw) = v { return raw }
    return 0
}
func bytes(_ v: Value, _ name: String = "inArray") throws -> [UInt8] {
    switch v {
    case .byteArray(let b): return b.bytes
    case .null: throw ExpressionRuntimeError.argumentNull(name)
    case .list(let box): return box.items.map { UInt8(truncatingIfNeeded: (try? Conversions.toInt64($0)) ?? 0) }
    default: throw ExpressionRuntimeError.invalidCast(from: Conversions.runtimeTypeName(v), to: "System.Byte[]")
    }
}
func strings(_ v: Value) throws -> [String?] {
    try Library.list(v).map { Library.optionalString($0) ?? ($0.isNull ? nil : Formatting.toString($0)) }
}
