/// A part of another window: the registers of one structure inside a BAR, or one
/// region of a DMA allocation. Offsets are relative to the slice's start, and the slice
/// reaches nothing outside its own range, however large the window beneath.
public struct WindowSlice<Base: MemoryWindow>: MemoryWindow {
  public let base: Base
  /// Where the slice starts in `base`.
  public let start: Int
  public let byteCount: Int

  /// The `count` bytes at `start` in `base`, or nil if they do not lie inside it.
  @inlinable
  public init?(_ base: Base, start: Int, count: Int) {
    guard base.contains(offset: start, count: count) else { return nil }
    self.base = base
    self.start = start
    self.byteCount = count
  }

  @inlinable func translated(_ offset: Int, width: Int) -> Int {
    checkAccess(at: offset, width: width)
    return start + offset
  }

  @inlinable public func load8(at offset: Int) -> UInt8 {
    base.load8(at: translated(offset, width: 1))
  }
  @inlinable public func load16(at offset: Int) -> UInt16 {
    base.load16(at: translated(offset, width: 2))
  }
  @inlinable public func load32(at offset: Int) -> UInt32 {
    base.load32(at: translated(offset, width: 4))
  }
  @inlinable public func load64(at offset: Int) -> UInt64 {
    base.load64(at: translated(offset, width: 8))
  }
  @inlinable public func store8(_ value: UInt8, at offset: Int) {
    base.store8(value, at: translated(offset, width: 1))
  }
  @inlinable public func store16(_ value: UInt16, at offset: Int) {
    base.store16(value, at: translated(offset, width: 2))
  }
  @inlinable public func store32(_ value: UInt32, at offset: Int) {
    base.store32(value, at: translated(offset, width: 4))
  }
  @inlinable public func store64(_ value: UInt64, at offset: Int) {
    base.store64(value, at: translated(offset, width: 8))
  }
}

extension WindowSlice: DMAMemory where Base: DMAMemory {
  @inlinable public var dmaRegion: DMARegion { base.dmaRegion(at: start, count: byteCount) }
  @inlinable public func fence() { base.fence() }
}

extension MemoryWindow {
  /// The `count` bytes at `start` as a window of their own, or nil if they do not lie
  /// inside this one.
  @inlinable
  public func slice(start: Int, count: Int) -> WindowSlice<Self>? {
    WindowSlice(self, start: start, count: count)
  }
}
