/// A window onto device memory: registers behind a BAR, or DMA memory a device reads.
///
/// Everything a driver touches goes through a window, addressed by byte offset from its
/// start. The window decides what an offset reaches, so code holding one can reach
/// nothing outside it: every access is checked against `byteCount` and natural
/// alignment, and one out of range stops the domain (a contained crash), never
/// reaching memory beyond. Values are little-endian, as PCI and virtio define them.
///
/// The trusted library gives a driver its windows onto MMIO and DMA memory;
/// `ArrayWindow` is plain memory for tests and for simulated devices. Code using windows
/// is generic over the window type (`some MemoryWindow`, `<Window: MemoryWindow>`), so
/// that Embedded Swift specializes every access: the protocol is not class-bound and is
/// never used as an existential.
public protocol MemoryWindow {
  /// How many bytes the window spans; offsets run from 0 to `byteCount - 1`.
  var byteCount: Int { get }

  func load8(at offset: Int) -> UInt8
  func load16(at offset: Int) -> UInt16
  func load32(at offset: Int) -> UInt32
  func load64(at offset: Int) -> UInt64
  func store8(_ value: UInt8, at offset: Int)
  func store16(_ value: UInt16, at offset: Int)
  func store32(_ value: UInt32, at offset: Int)
  func store64(_ value: UInt64, at offset: Int)
}

extension MemoryWindow {
  /// Whether `width` bytes at `offset` lie inside the window and are naturally aligned.
  @inlinable
  public func isValidAccess(at offset: Int, width: Int) -> Bool {
    offset >= 0 && width <= byteCount && offset <= byteCount - width && offset & (width - 1) == 0
  }

  /// Stops the domain unless `width` bytes at `offset` lie inside the window and are
  /// naturally aligned. Implementations call this before every access.
  @inlinable @inline(__always)
  public func checkAccess(at offset: Int, width: Int) {
    precondition(
      isValidAccess(at: offset, width: width),
      "memory window: access outside the window or misaligned")
  }

  /// Whether the `count` bytes at `offset` lie inside the window.
  @inlinable
  public func contains(offset: Int, count: Int) -> Bool {
    offset >= 0 && count >= 0 && count <= byteCount && offset <= byteCount - count
  }
}
