/// Named fields of a register value, each with its bits and its access, so that the
/// compiler refuses what the hardware forbids.
///
/// Access is a type parameter: reading works for `ReadOnly`, `ReadWrite` and
/// `WriteOneToClear` fields; assigning through a subscript only for `ReadWrite` ones;
/// `set` works for `ReadWrite` and `WriteOnly`; a `WriteOneToClear` field is cleared
/// only through its register (`ReadWriteRegister.clear`). A field is declared as a
/// static member in a constrained extension of `Field` or `Flag` (see `RegisterValue`),
/// which lets code write `value[.name]`.

/// How a field may be accessed; the types below are its only kinds.
public protocol FieldAccess { static var kind: FieldAccessKind { get } }
/// Access kinds whose fields can be read.
public protocol ReadableAccess: FieldAccess {}
/// Access kinds whose fields can be written.
public protocol WritableAccess: FieldAccess {}

public enum FieldAccessKind: Equatable, Sendable {
  case readOnly, writeOnly, readWrite, writeOneToClear
}

/// The device sets it; writes are ignored.
public enum ReadOnly: ReadableAccess { public static var kind: FieldAccessKind { .readOnly } }
/// The driver sets it; it does not read back.
public enum WriteOnly: WritableAccess { public static var kind: FieldAccessKind { .writeOnly } }
/// The driver sets it and reads it back.
public enum ReadWrite: ReadableAccess, WritableAccess {
  public static var kind: FieldAccessKind { .readWrite }
}
/// The device sets it; the driver clears it by writing 1, and writing 0 does nothing.
public enum WriteOneToClear: ReadableAccess {
  public static var kind: FieldAccessKind { .writeOneToClear }
}

/// A field of one or more bits of `Value`, read and written as an unsigned number.
public struct Field<Value: RegisterValue, Access: FieldAccess> {
  /// The field's bits in the register, in place.
  public let mask: Value.Word
  /// Where the field's lowest bit is.
  public let shift: Int

  /// The field made of bits `bits.lowerBound` to `bits.upperBound` (inclusive).
  @inlinable
  public init(bits: ClosedRange<Int>) {
    precondition(
      bits.lowerBound >= 0 && bits.upperBound < Value.Word.bitWidth,
      "register field: bits outside the register")
    let width = bits.upperBound - bits.lowerBound + 1
    let ones: Value.Word = width == Value.Word.bitWidth ? ~0 : (1 << width) - 1
    mask = ones << bits.lowerBound
    shift = bits.lowerBound
    checkDeclaration(mask, Value.self, Access.self)
  }
}

/// A field of one bit, read and written as a `Bool`.
public struct Flag<Value: RegisterValue, Access: FieldAccess> {
  /// The flag's bit in the register, in place.
  public let mask: Value.Word

  @inlinable
  public init(bit: Int) {
    precondition(bit >= 0 && bit < Value.Word.bitWidth, "register flag: bit outside the register")
    mask = 1 << bit
    checkDeclaration(mask, Value.self, Access.self)
  }
}

/// Stops the program if a field's access disagrees with the masks its value declares.
@inlinable
func checkDeclaration<Value: RegisterValue, Access: FieldAccess>(
  _ mask: Value.Word, _: Value.Type, _: Access.Type
) {
  let clearBits = Value.writeOneToClearBits & mask
  let writeOnlyBits = Value.writeOnlyBits & mask
  switch Access.kind {
  case .writeOneToClear:
    precondition(
      clearBits == mask, "register field: write-1-to-clear but not in writeOneToClearBits")
  case .writeOnly:
    precondition(writeOnlyBits == mask, "register field: write-only but not in writeOnlyBits")
  case .readOnly, .readWrite:
    precondition(
      clearBits == 0 && writeOnlyBits == 0,
      "register field: inside writeOneToClearBits or writeOnlyBits but declared otherwise")
  }
}

extension RegisterValue {
  /// The field's value, shifted down to start at bit 0.
  @inlinable
  public subscript<Access: ReadableAccess>(field: Field<Self, Access>) -> Word {
    (raw & field.mask) >> field.shift
  }

  @inlinable
  public subscript(field: Field<Self, ReadWrite>) -> Word {
    get { (raw & field.mask) >> field.shift }
    set { set(field, to: newValue) }
  }

  @inlinable
  public subscript<Access: ReadableAccess>(flag: Flag<Self, Access>) -> Bool {
    raw & flag.mask != 0
  }

  @inlinable
  public subscript(flag: Flag<Self, ReadWrite>) -> Bool {
    get { raw & flag.mask != 0 }
    set { set(flag, newValue) }
  }

  /// Sets a writable field; stops the program if `value` does not fit in it.
  @inlinable
  public mutating func set<Access: WritableAccess>(_ field: Field<Self, Access>, to value: Word) {
    let placed = value << field.shift
    precondition(
      placed >> field.shift == value && placed & ~field.mask == 0,
      "register field: value too wide for the field")
    raw = (raw & ~field.mask) | placed
  }

  /// Sets (or, with `false`, clears) a writable flag.
  @inlinable
  public mutating func set<Access: WritableAccess>(_ flag: Flag<Self, Access>, _ on: Bool = true) {
    raw = on ? raw | flag.mask : raw & ~flag.mask
  }

  /// This value with a writable flag set: `Control(raw: 0).setting(.reset)`.
  @inlinable
  public func setting<Access: WritableAccess>(_ flag: Flag<Self, Access>) -> Self {
    var copy = self
    copy.set(flag)
    return copy
  }

  /// This value with a writable field set to `value`.
  @inlinable
  public func setting<Access: WritableAccess>(_ field: Field<Self, Access>, to value: Word)
    -> Self
  {
    var copy = self
    copy.set(field, to: value)
    return copy
  }
}
