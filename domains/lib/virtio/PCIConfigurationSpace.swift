/// A PCI function's 256-byte configuration space, as the driver may read it: the
/// kernel's PCI layer implements this for the function a driver was given, tests with
/// plain bytes. Offsets run from 0 to 255; reads are little-endian and naturally
/// aligned.
public protocol PCIConfigurationSpace {
  func read8(at offset: Int) -> UInt8
  func read16(at offset: Int) -> UInt16
  func read32(at offset: Int) -> UInt32
}

/// Offsets and bits of the standard configuration header this library reads.
enum PCIHeader {
  static let vendorID = 0x00
  static let deviceID = 0x02
  static let status = 0x06
  static let subsystemID = 0x2E
  static let capabilitiesPointer = 0x34
  /// Status bit: the function has a capability list.
  static let hasCapabilityList: UInt16 = 1 << 4
  /// Capabilities live after the standard header, in the rest of the 256 bytes.
  static let firstCapabilityOffset = 0x40
  static let byteCount = 256
  /// Capability ID of a vendor-specific capability, which virtio uses.
  static let vendorSpecificCapability: UInt8 = 0x09
}
