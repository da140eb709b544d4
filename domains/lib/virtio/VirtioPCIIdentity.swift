/// Which virtio device a PCI function is: vendor 0x1AF4, and a device ID that says the
/// type (0x1040 + type for modern devices; 0x1000-0x103F for transitional ones, whose
/// subsystem ID gives the type).
public struct VirtioPCIIdentity: Equatable, Sendable {
  /// The virtio device type: 1 network, 2 block, 4 entropy, ...
  public let deviceType: UInt16
  /// A transitional device also has the legacy interface; this library uses only its
  /// modern one, which such devices have too (QEMU's default virtio-blk-pci is one).
  public let isTransitional: Bool

  public static let vendorID: UInt16 = 0x1AF4
  public static let networkDeviceType: UInt16 = 1
  public static let blockDeviceType: UInt16 = 2

  public init(deviceType: UInt16, isTransitional: Bool) {
    self.deviceType = deviceType
    self.isTransitional = isTransitional
  }

  /// Reads the function's identity; throws `.notVirtio` for anything else.
  public init<Config: PCIConfigurationSpace>(reading config: Config) throws(VirtioError) {
    let vendor = config.read16(at: PCIHeader.vendorID)
    let device = config.read16(at: PCIHeader.deviceID)
    guard vendor == Self.vendorID else { throw .notVirtio(vendorID: vendor, deviceID: device) }
    switch device {
    case 0x1040...0x107F:
      self.init(deviceType: device - 0x1040, isTransitional: false)
    case 0x1000...0x103F:
      self.init(deviceType: config.read16(at: PCIHeader.subsystemID), isTransitional: true)
    default:
      throw .notVirtio(vendorID: vendor, deviceID: device)
    }
  }
}
