/// Registers: a value type at an offset in a window, with the access the hardware
/// gives it. A read-only register has no `write`, a write-only one no `read`, so
/// misuse does not compile.
///
/// A register is a window and an offset, made on demand by its register block
/// (`RegisterBlock`) and gone after the access: no allocation, and after
/// specialization a read is one load of the register's width.

/// What every register is made from; `RegisterBlock.register(at:)` makes any kind.
public protocol Register {
  associatedtype Window: MemoryWindow
  init(window: Window, offset: Int)
}

/// A register the device sets and the driver only reads (reading may have effects,
/// such as a read-to-clear interrupt status).
public struct ReadOnlyRegister<Window: MemoryWindow, Value: RegisterValue>: Register {
  public let window: Window
  public let offset: Int

  @inlinable public init(window: Window, offset: Int) {
    self.window = window
    self.offset = offset
  }

  @inlinable public func read() -> Value {
    Value(raw: Value.Word.load(from: window, at: offset))
  }
}

/// A register the driver writes and cannot read back (a doorbell, a command).
public struct WriteOnlyRegister<Window: MemoryWindow, Value: RegisterValue>: Register {
  public let window: Window
  public let offset: Int

  @inlinable public init(window: Window, offset: Int) {
    self.window = window
    self.offset = offset
  }

  @inlinable public func write(_ value: Value) {
    Value.Word.store(value.rawForWrite, to: window, at: offset)
  }

  /// Writes a value built from all-zero bits: `doorbell.write { $0.set(.ring) }`.
  @inlinable public func write(_ build: (inout Value) -> Void) {
    var value = Value(raw: 0)
    build(&value)
    write(value)
  }
}

/// A register the driver reads and writes, whose fields may have any access.
///
/// Write-1-to-clear bits are written as 1 only by `clear` and `acknowledge`: `write`
/// and `modify` send them as 0, so writing back a value just read never clears a
/// status bit by accident.
public struct ReadWriteRegister<Window: MemoryWindow, Value: RegisterValue>: Register {
  public let window: Window
  public let offset: Int

  @inlinable public init(window: Window, offset: Int) {
    self.window = window
    self.offset = offset
  }

  @inlinable public func read() -> Value {
    Value(raw: Value.Word.load(from: window, at: offset))
  }

  /// Writes `value`, with its write-1-to-clear bits as 0.
  @inlinable public func write(_ value: Value) {
    Value.Word.store(value.rawForWrite, to: window, at: offset)
  }

  /// Reads the register, lets `body` change the value, and writes it back. `body` sees
  /// write-1-to-clear and write-only bits as 0, and they are written as 0.
  @inlinable public func modify(_ body: (inout Value) -> Void) {
    var value = Value(raw: read().raw & Value.preservedOnModify)
    body(&value)
    write(value)
  }

  /// Clears a write-1-to-clear flag, keeping the register's other writable bits.
  @inlinable public func clear(_ flag: Flag<Value, WriteOneToClear>) {
    clear(bits: flag.mask)
  }

  /// Clears every bit of a write-1-to-clear field, keeping the other writable bits.
  @inlinable public func clear(_ field: Field<Value, WriteOneToClear>) {
    clear(bits: field.mask)
  }

  /// Reads the register and clears exactly the write-1-to-clear bits that were set,
  /// returning what was read: the usual way to take and acknowledge pending events.
  @inlinable public func acknowledge() -> Value {
    let value = read()
    let pending = value.raw & Value.writeOneToClearBits
    if pending != 0 { store(value.raw & Value.preservedOnModify | pending) }
    return value
  }

  @inlinable func clear(bits: Value.Word) {
    // A register of write-1-to-clear bits only needs no read first: 0 elsewhere is
    // harmless there.
    let kept: Value.Word = Value.preservedOnModify == 0 ? 0 : read().raw & Value.preservedOnModify
    store(kept | bits)
  }

  @inlinable func store(_ raw: Value.Word) { Value.Word.store(raw, to: window, at: offset) }
}
