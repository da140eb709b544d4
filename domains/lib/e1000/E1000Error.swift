/// Why an 82540EM could not be set up.
public enum E1000Error: Error, Equatable, Sendable {
  /// The PCI function is not an 82540EM.
  case notAnE1000(vendorID: UInt16, deviceID: UInt16)
  /// BAR 0 is missing, not memory, or smaller than the registers.
  case registersUnreachable
  /// A ring size that is not a multiple of 8 descriptors from 8 to 4096.
  case unusableRingSize
  /// The DMA memory is smaller than the rings, or not 128-byte aligned at the device.
  case ringMemoryUnusable(needed: Int, available: Int)
  /// Neither RAL0/RAH0 nor the EEPROM holds a usable (individual, non-zero) MAC address.
  case noMACAddress

  /// What went wrong, in words, for a log line.
  public var message: String {
    switch self {
    case .notAnE1000(let vendor, let device):
      "the device is \(hex(vendor)):\(hex(device)), not an 82540EM (8086:100e)"
    case .registersUnreachable: "BAR 0 does not hold the device's registers"
    case .unusableRingSize: "a ring size is not a multiple of 8 descriptors from 8 to 4096"
    case .ringMemoryUnusable(let needed, let available):
      "the ring memory holds \(available) bytes, not \(needed) at a 128-byte aligned address"
    case .noMACAddress: "neither RAL0/RAH0 nor the EEPROM holds a usable MAC address"
    }
  }
}

/// Four hex digits, lower case, as PCI IDs are written.
func hex(_ value: UInt16) -> String {
  func digit(_ nibble: UInt16) -> UInt8 {
    let value = UInt8(truncatingIfNeeded: nibble & 0xF)
    return value < 10 ? 0x30 + value : 0x57 + value
  }
  return String(
    decoding: [digit(value >> 12), digit(value >> 8), digit(value >> 4), digit(value)],
    as: UTF8.self)
}
