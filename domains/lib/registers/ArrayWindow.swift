/// A window onto ordinary memory, a byte array, little-endian: for tests, and for the
/// simulated devices that test drivers on the host.
///
/// It is also `DMAMemory`, at a device address of the test's choosing, so a simulated
/// device can find the rings a driver writes by the addresses the driver gives it.
public final class ArrayWindow: DMAMemory {
  /// The memory itself. Tests and simulated devices read it directly and write it with
  /// `write(_:at:)`: that is the device's side, which no driver check applies to. No
  /// public setter, so no caller keeps an access to it open across code of its own (a
  /// settable public property would; docs/EXCLUSIVITY.md).
  public private(set) var bytes: [UInt8]
  public let deviceAddress: UInt64

  /// `byteCount` zero bytes that a device finds at `deviceAddress`.
  public init(byteCount: Int, deviceAddress: UInt64 = 0) {
    bytes = [UInt8](repeating: 0, count: byteCount)
    self.deviceAddress = deviceAddress
  }

  public var byteCount: Int { bytes.count }

  /// Puts `newBytes` at `offset`, as a device writing this memory does.
  public func write(_ newBytes: [UInt8], at offset: Int) {
    for (index, byte) in newBytes.enumerated() { bytes[offset + index] = byte }
  }

  public func fence() {}

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
