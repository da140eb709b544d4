/// A made-up device for the tests: one register with fields of every access kind, and a
/// block with registers of every kind, over a window that records each access.
import Registers

/// Bit 0 enable (read-write), bits 1-2 events (write-1-to-clear), bits 8-15 threshold
/// (read-write), bits 16-19 pending count (read-only), bit 31 trigger (write-only).
struct Control: RegisterValue, Equatable {
  var raw: UInt32
  static var writeOneToClearBits: UInt32 { 0b110 }
  static var writeOnlyBits: UInt32 { 1 << 31 }
}

extension Flag where Value == Control, Access == ReadWrite {
  static var enable: Self { Flag(bit: 0) }
}

extension Flag where Value == Control, Access == WriteOneToClear {
  static var linkChanged: Self { Flag(bit: 1) }
  static var overrun: Self { Flag(bit: 2) }
}

extension Field where Value == Control, Access == ReadWrite {
  static var threshold: Self { Field(bits: 8...15) }
}

extension Field where Value == Control, Access == ReadOnly {
  static var pending: Self { Field(bits: 16...19) }
}

extension Flag where Value == Control, Access == WriteOnly {
  static var trigger: Self { Flag(bit: 31) }
}

/// Only write-1-to-clear bits: clearing needs no read first.
struct Events: RegisterValue {
  var raw: UInt8
  static var writeOneToClearBits: UInt8 { 0xFF }
}

extension Flag where Value == Events, Access == WriteOneToClear {
  static var received: Self { Flag(bit: 0) }
  static var sent: Self { Flag(bit: 1) }
}

struct TestDevice<Window: MemoryWindow>: RegisterBlock {
  static var byteCount: Int { 0x20 }
  let window: Window
  let base: Int

  init(window: Window, base: Int) {
    self.window = window
    self.base = base
  }

  var control: ReadWriteRegister<Window, Control> { register(at: 0x0) }
  var identifier: ReadOnlyRegister<Window, UInt16> { register(at: 0x4) }
  var doorbell: WriteOnlyRegister<Window, UInt8> { register(at: 0x6) }
  var events: ReadWriteRegister<Window, Events> { register(at: 0x7) }
  var address: ReadWriteSplitRegister<Window> { register(at: 0x8) }
  var wide: ReadWriteRegister<Window, UInt64> { register(at: 0x10) }
  var counter: ReadOnlySplitRegister<Window> { register(at: 0x18) }
}

/// An access as the device saw it.
struct Access: Equatable {
  enum Kind { case load, store }
  let kind: Kind
  let offset: Int
  let width: Int
  let value: UInt64
}

/// Memory that logs every access, to check what a register operation sends.
final class RecordingWindow: MemoryWindow {
  let memory: ArrayWindow
  var log: [Access] = []

  init(byteCount: Int) { memory = ArrayWindow(byteCount: byteCount) }

  var byteCount: Int { memory.byteCount }
  var stores: [Access] { log.filter { $0.kind == .store } }
  var loads: [Access] { log.filter { $0.kind == .load } }

  func load8(at offset: Int) -> UInt8 { noted(.load, offset, 1, memory.load8(at: offset)) }
  func load16(at offset: Int) -> UInt16 { noted(.load, offset, 2, memory.load16(at: offset)) }
  func load32(at offset: Int) -> UInt32 { noted(.load, offset, 4, memory.load32(at: offset)) }
  func load64(at offset: Int) -> UInt64 { noted(.load, offset, 8, memory.load64(at: offset)) }
  func store8(_ value: UInt8, at offset: Int) {
    memory.store8(noted(.store, offset, 1, value), at: offset)
  }
  func store16(_ value: UInt16, at offset: Int) {
    memory.store16(noted(.store, offset, 2, value), at: offset)
  }
  func store32(_ value: UInt32, at offset: Int) {
    memory.store32(noted(.store, offset, 4, value), at: offset)
  }
  func store64(_ value: UInt64, at offset: Int) {
    memory.store64(noted(.store, offset, 8, value), at: offset)
  }

  private func noted<T: FixedWidthInteger>(
    _ kind: Access.Kind, _ offset: Int, _ width: Int, _ value: T
  )
    -> T
  {
    log.append(Access(kind: kind, offset: offset, width: width, value: UInt64(value)))
    return value
  }
}
