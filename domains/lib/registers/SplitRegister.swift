/// 64-bit registers of devices that take only 32-bit accesses, such as virtio's queue
/// addresses and capacity: moved as two 32-bit halves, low half first. The two halves
/// are not one atomic access; a value the device may change between them needs a check
/// around the read (virtio's configuration generation).

public struct ReadOnlySplitRegister<Window: MemoryWindow>: Register {
  public let window: Window
  public let offset: Int

  @inlinable public init(window: Window, offset: Int) {
    self.window = window
    self.offset = offset
  }

  @inlinable public func read() -> UInt64 { loadSplit(window, at: offset) }
}

public struct ReadWriteSplitRegister<Window: MemoryWindow>: Register {
  public let window: Window
  public let offset: Int

  @inlinable public init(window: Window, offset: Int) {
    self.window = window
    self.offset = offset
  }

  @inlinable public func read() -> UInt64 { loadSplit(window, at: offset) }

  @inlinable public func write(_ value: UInt64) {
    window.store32(UInt32(truncatingIfNeeded: value), at: offset)
    window.store32(UInt32(truncatingIfNeeded: value >> 32), at: offset + 4)
  }
}

@inlinable
func loadSplit<Window: MemoryWindow>(_ window: Window, at offset: Int) -> UInt64 {
  let low = window.load32(at: offset)
  let high = window.load32(at: offset + 4)
  return UInt64(high) << 32 | UInt64(low)
}
