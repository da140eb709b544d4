/// Volatile loads and stores inside a checked range: what MMIO windows and DMA buffers
/// are made of.
///
/// Internal to this trusted module: only the kernel's BAR addresses and the shared
/// heap's allocations become one, never a number from domain code.
import _Volatile

struct VolatileMemory: BitwiseCopyable {
  let base: UInt
  let byteCount: Int

  /// The address of `width` bytes at `offset`; stops the domain unless they lie inside
  /// and are naturally aligned.
  @inline(__always)
  private func address(_ offset: Int, _ width: Int) -> UInt {
    precondition(
      offset >= 0 && offset <= byteCount - width && offset & (width - 1) == 0,
      "device memory: access outside the window or misaligned")
    return base + UInt(offset)
  }

  func load(_ offset: Int) -> UInt8 {
    unsafe VolatileMappedRegister<UInt8>(unsafeBitPattern: address(offset, 1)).load()
  }
  func load(_ offset: Int) -> UInt16 {
    unsafe VolatileMappedRegister<UInt16>(unsafeBitPattern: address(offset, 2)).load()
  }
  func load(_ offset: Int) -> UInt32 {
    unsafe VolatileMappedRegister<UInt32>(unsafeBitPattern: address(offset, 4)).load()
  }
  func load(_ offset: Int) -> UInt64 {
    unsafe VolatileMappedRegister<UInt64>(unsafeBitPattern: address(offset, 8)).load()
  }
  func store(_ value: UInt8, _ offset: Int) {
    unsafe VolatileMappedRegister<UInt8>(unsafeBitPattern: address(offset, 1)).store(value)
  }
  func store(_ value: UInt16, _ offset: Int) {
    unsafe VolatileMappedRegister<UInt16>(unsafeBitPattern: address(offset, 2)).store(value)
  }
  func store(_ value: UInt32, _ offset: Int) {
    unsafe VolatileMappedRegister<UInt32>(unsafeBitPattern: address(offset, 4)).store(value)
  }
  func store(_ value: UInt64, _ offset: Int) {
    unsafe VolatileMappedRegister<UInt64>(unsafeBitPattern: address(offset, 8)).store(value)
  }
}
