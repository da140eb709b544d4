/// A window onto ordinary memory, a byte array, little-endian: for tests, and for the
/// simulated devices that test drivers on the host.
///
/// Not `open`: its one subclass, `ArrayDMAMemory`, is the package's own.
public class ArrayWindow: MemoryWindow {
  /// The memory itself. Tests and simulated devices read it directly and write it with
  /// `write(_:at:)`: that is the device's side, which no driver check applies to. No
  /// public setter, so no caller keeps an access to it open across code of its own (a
  /// settable public property would; docs/EXCLUSIVITY.md).
  public internal(set) var bytes: [UInt8]

  /// `byteCount` zero bytes.
  public init(byteCount: Int) {
    bytes = [UInt8](repeating: 0, count: byteCount)
  }

  public var byteCount: Int { bytes.count }

  /// Puts `newBytes` at `offset`, as a device writing this memory does.
  public func write(_ newBytes: [UInt8], at offset: Int) {
    for (index, byte) in newBytes.enumerated() { bytes[offset + index] = byte }
  }

  public func load8(at offset: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: load(at: offset, width: 1))
  }
  public func load16(at offset: Int) -> UInt16 {
    UInt16(truncatingIfNeeded: load(at: offset, width: 2))
  }
  public func load32(at offset: Int) -> UInt32 {
    UInt32(truncatingIfNeeded: load(at: offset, width: 4))
  }
  public func load64(at offset: Int) -> UInt64 { load(at: offset, width: 8) }

  public func store8(_ value: UInt8, at offset: Int) { store(UInt64(value), at: offset, width: 1) }
  public func store16(_ value: UInt16, at offset: Int) {
    store(UInt64(value), at: offset, width: 2)
  }
  public func store32(_ value: UInt32, at offset: Int) {
    store(UInt64(value), at: offset, width: 4)
  }
  public func store64(_ value: UInt64, at offset: Int) { store(value, at: offset, width: 8) }

  private func load(at offset: Int, width: Int) -> UInt64 {
    checkAccess(at: offset, width: width)
    var value: UInt64 = 0
    for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * index) }
    return value
  }

  private func store(_ value: UInt64, at offset: Int, width: Int) {
    checkAccess(at: offset, width: width)
    for index in 0..<width {
      bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
    }
  }
}

/// Plain memory that a simulated device finds at a device address of the test's
/// choosing, so that it can follow the rings and buffers a driver names by address.
///
/// Only the package (the host tests) makes one: outside it, ordinary memory cannot pass
/// for DMA memory at an address the driver chose.
public final class ArrayDMAMemory: ArrayWindow, DMAMemory {
  public let dmaRegion: DMARegion

  /// `byteCount` zero bytes that a device finds at `deviceAddress`.
  package init(byteCount: Int, deviceAddress: UInt64) {
    dmaRegion = DMARegion(vouchedAddress: deviceAddress, byteCount: byteCount)
    super.init(byteCount: byteCount)
  }

  public func fence() {}
}
