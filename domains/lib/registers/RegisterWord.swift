/// The widths a register can have (8, 16, 32 or 64 bits) and how each is moved through
/// a window: a register of type `UInt16` is read with one 16-bit load, never two bytes.
public protocol RegisterWord: FixedWidthInteger, UnsignedInteger, RegisterValue
where Word == Self {
  static func load<Window: MemoryWindow>(from window: Window, at offset: Int) -> Self
  static func store<Window: MemoryWindow>(_ value: Self, to window: Window, at offset: Int)
}

// A plain integer is a register value with no named fields: the whole word.
extension RegisterWord {
  @inlinable public var raw: Self {
    get { self }
    set { self = newValue }
  }
  @inlinable public init(raw: Self) { self = raw }
}

extension UInt8: RegisterWord {
  @inlinable
  public static func load<Window: MemoryWindow>(from window: Window, at offset: Int) -> UInt8 {
    window.load8(at: offset)
  }
  @inlinable
  public static func store<Window: MemoryWindow>(_ value: UInt8, to window: Window, at offset: Int)
  {
    window.store8(value, at: offset)
  }
}

extension UInt16: RegisterWord {
  @inlinable
  public static func load<Window: MemoryWindow>(from window: Window, at offset: Int) -> UInt16 {
    window.load16(at: offset)
  }
  @inlinable
  public static func store<Window: MemoryWindow>(
    _ value: UInt16, to window: Window, at offset: Int
  ) {
    window.store16(value, at: offset)
  }
}

extension UInt32: RegisterWord {
  @inlinable
  public static func load<Window: MemoryWindow>(from window: Window, at offset: Int) -> UInt32 {
    window.load32(at: offset)
  }
  @inlinable
  public static func store<Window: MemoryWindow>(
    _ value: UInt32, to window: Window, at offset: Int
  ) {
    window.store32(value, at: offset)
  }
}

extension UInt64: RegisterWord {
  @inlinable
  public static func load<Window: MemoryWindow>(from window: Window, at offset: Int) -> UInt64 {
    window.load64(at: offset)
  }
  @inlinable
  public static func store<Window: MemoryWindow>(
    _ value: UInt64, to window: Window, at offset: Int
  ) {
    window.store64(value, at: offset)
  }
}
