/// Memory as a device sees it: DMA regions found by device address, as a real device
/// reaches guest memory. An address outside every region is a fault the tests check for.
import Registers

final class DeviceMemory {
  private(set) var regions: [ArrayDMAMemory] = []
  /// Device addresses the device tried to reach that no region holds.
  private(set) var faults: [UInt64] = []

  func add(_ region: ArrayDMAMemory) { regions.append(region) }

  /// The region and offset holding `count` bytes at `address`, or nil (a fault).
  func locate(_ address: UInt64, count: Int) -> (ArrayDMAMemory, Int)? {
    for region in regions
    where count <= region.byteCount && address >= region.dmaRegion.address
      && address - region.dmaRegion.address <= UInt64(region.byteCount - count)
    {
      return (region, Int(address - region.dmaRegion.address))
    }
    faults.append(address)
    return nil
  }

  func load16(_ address: UInt64) -> UInt16 {
    guard let (region, offset) = locate(address, count: 2) else { return 0 }
    return region.load16(at: offset)
  }
  func load32(_ address: UInt64) -> UInt32 {
    guard let (region, offset) = locate(address, count: 4) else { return 0 }
    return region.load32(at: offset)
  }
  func load64(_ address: UInt64) -> UInt64 {
    guard let (region, offset) = locate(address, count: 8) else { return 0 }
    return region.load64(at: offset)
  }
  func store8(_ value: UInt8, _ address: UInt64) {
    guard let (region, offset) = locate(address, count: 1) else { return }
    region.store8(value, at: offset)
  }
  func store16(_ value: UInt16, _ address: UInt64) {
    guard let (region, offset) = locate(address, count: 2) else { return }
    region.store16(value, at: offset)
  }
  func store32(_ value: UInt32, _ address: UInt64) {
    guard let (region, offset) = locate(address, count: 4) else { return }
    region.store32(value, at: offset)
  }

  func read(_ address: UInt64, count: Int) -> [UInt8]? {
    guard let (region, offset) = locate(address, count: count) else { return nil }
    return Array(region.bytes[offset..<offset + count])
  }

  func write(_ bytes: [UInt8], to address: UInt64) -> Bool {
    guard let (region, offset) = locate(address, count: bytes.count) else { return false }
    region.write(bytes, at: offset)
    return true
  }
}
