/// Memory the floor loops share with a device: its registers and the frames it reads and
/// writes by DMA, reached with volatile accesses so that a polling loop sees each store
/// the device makes and the device sees each of ours in order.
///
/// Kernel memory and BARs are identity-mapped, so an address here is also the one the
/// device uses. The floors are kernel code driving a device the kernel owns for the
/// moment; nothing here checks an offset, and every caller keeps to its own layout.
import Memory
import _Volatile

struct FloorWindow {
  let base: UInt64

  func load8(_ offset: Int) -> UInt8 {
    VolatileMappedRegister<UInt8>(unsafeBitPattern: address(offset)).load()
  }
  func load16(_ offset: Int) -> UInt16 {
    VolatileMappedRegister<UInt16>(unsafeBitPattern: address(offset)).load()
  }
  func load32(_ offset: Int) -> UInt32 {
    VolatileMappedRegister<UInt32>(unsafeBitPattern: address(offset)).load()
  }
  func store(_ value: UInt8, _ offset: Int) {
    VolatileMappedRegister<UInt8>(unsafeBitPattern: address(offset)).store(value)
  }
  func store(_ value: UInt16, _ offset: Int) {
    VolatileMappedRegister<UInt16>(unsafeBitPattern: address(offset)).store(value)
  }
  func store(_ value: UInt32, _ offset: Int) {
    VolatileMappedRegister<UInt32>(unsafeBitPattern: address(offset)).store(value)
  }
  func store(_ value: UInt64, _ offset: Int) {
    VolatileMappedRegister<UInt64>(unsafeBitPattern: address(offset)).store(value)
  }

  /// The window `offset` bytes further on.
  func advanced(by offset: Int) -> FloorWindow { FloorWindow(base: base + UInt64(offset)) }

  /// Plain access, for bytes the device is done with (a frame being answered).
  var bytes: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(base))! }

  private func address(_ offset: Int) -> UInt {
    UInt(base) + UInt(offset)
  }
}

/// Contiguous zeroed frames for rings and buffers, given back by `free`.
struct FloorFrames {
  let first: PhysicalFrame
  let count: Int

  init?(count: Int) {
    guard let first = Frames.allocateContiguous(count: count) else { return nil }
    self.first = first
    self.count = count
    window.bytes.initializeMemory(as: UInt8.self, repeating: 0, count: count * 4096)
  }

  var window: FloorWindow { FloorWindow(base: first.address) }
  var address: UInt64 { first.address }

  func free() { Frames.free(first, count: count) }
}
