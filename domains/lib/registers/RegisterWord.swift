/// The widths a register can have (8, 16, 32 or 64 bits) and how each is moved through
/// a window: a register of type `UInt16` is read with one 16-bit load, never two bytes.
public protocol RegisterWord: FixedWidthInteger, UnsignedInteger, RegisterValue
where Word == Self {}

extension UInt8: RegisterWord {}
extension UInt16: RegisterWord {}
extension UInt32: RegisterWord {}
extension UInt64: RegisterWord {}

// A plain integer is a register value with no named fields: the whole word.
extension RegisterWord {
  @inlinable public var raw: Self {
    get { self }
    set { self = newValue }
  }
  @inlinable public init(raw: Self) { self = raw }

  // The switch on the width is resolved when the code is specialized for a word type,
  // leaving the one access of that width.

  @inlinable
  static func load<Window: MemoryWindow>(from window: Window, at offset: Int) -> Self {
    switch bitWidth {
    case 8: Self(truncatingIfNeeded: window.load8(at: offset))
    case 16: Self(truncatingIfNeeded: window.load16(at: offset))
    case 32: Self(truncatingIfNeeded: window.load32(at: offset))
    default: Self(truncatingIfNeeded: window.load64(at: offset))
    }
  }

  @inlinable
  static func store<Window: MemoryWindow>(_ value: Self, to window: Window, at offset: Int) {
    switch bitWidth {
    case 8: window.store8(UInt8(truncatingIfNeeded: value), at: offset)
    case 16: window.store16(UInt16(truncatingIfNeeded: value), at: offset)
    case 32: window.store32(UInt32(truncatingIfNeeded: value), at: offset)
    default: window.store64(UInt64(truncatingIfNeeded: value), at: offset)
    }
  }
}
