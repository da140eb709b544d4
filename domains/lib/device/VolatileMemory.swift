/// Volatile loads and stores inside a checked range: what MMIO windows and DMA buffers
/// are made of.
///
/// Internal to this trusted module: only the kernel's BAR addresses and the shared
/// heap's allocations become one, never a number from domain code.
import _Volatile

struct VolatileMemory: BitwiseCopyable {
  let base: UInt
  let byteCount: Int

  @inline(__always)
  func load<T: FixedWidthInteger>(_ offset: Int) -> T {
    precondition(
      offset >= 0 && offset <= byteCount - MemoryLayout<T>.size
        && offset & (MemoryLayout<T>.size - 1) == 0,
      "device memory: access outside the window or misaligned")
    return unsafe VolatileMappedRegister<T>(unsafeBitPattern: base + UInt(offset)).load()
  }

  @inline(__always)
  func store<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
    precondition(
      offset >= 0 && offset <= byteCount - MemoryLayout<T>.size
        && offset & (MemoryLayout<T>.size - 1) == 0,
      "device memory: access outside the window or misaligned")
    unsafe VolatileMappedRegister<T>(unsafeBitPattern: base + UInt(offset)).store(value)
  }
}
