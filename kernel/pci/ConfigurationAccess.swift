/// How the PCI code reaches configuration space: through an accessor the caller supplies.
///
/// The kernel's accessor uses configuration mechanism #1 (I/O ports 0xCF8/0xCFC); host
/// tests supply a fake. Every offset the module passes is inside the 256-byte space and
/// naturally aligned for its width, which is all mechanism #1 can do. A function that is
/// absent reads as all ones, as on real hardware.
public protocol ConfigurationAccess {
  func read8(_ address: PCIAddress, _ offset: Int) -> UInt8
  func read16(_ address: PCIAddress, _ offset: Int) -> UInt16
  func read32(_ address: PCIAddress, _ offset: Int) -> UInt32
  func write8(_ address: PCIAddress, _ offset: Int, _ value: UInt8)
  func write16(_ address: PCIAddress, _ offset: Int, _ value: UInt16)
  func write32(_ address: PCIAddress, _ offset: Int, _ value: UInt32)
}

/// The configuration space of one function: an accessor bound to an address.
public struct ConfigurationSpace<Access: ConfigurationAccess> {
  /// Bytes in a conventional (non-extended) configuration space.
  public static var size: Int { 256 }

  public let access: Access
  public let address: PCIAddress

  public init(_ access: Access, _ address: PCIAddress) {
    self.access = access
    self.address = address
  }

  public func read8(_ offset: Int) -> UInt8 { access.read8(address, offset) }
  public func read16(_ offset: Int) -> UInt16 { access.read16(address, offset) }
  public func read32(_ offset: Int) -> UInt32 { access.read32(address, offset) }
  public func write8(_ offset: Int, _ value: UInt8) { access.write8(address, offset, value) }
  public func write16(_ offset: Int, _ value: UInt16) { access.write16(address, offset, value) }
  public func write32(_ offset: Int, _ value: UInt32) { access.write32(address, offset, value) }

  public var command: CommandRegister {
    get { CommandRegister(rawValue: read16(ConfigurationRegister.command)) }
    nonmutating set { write16(ConfigurationRegister.command, newValue.rawValue) }
  }

  public var status: StatusRegister {
    StatusRegister(rawValue: read16(ConfigurationRegister.status))
  }

  /// Whether a read of `width` bytes (1, 2 or 4) at `offset` is one mechanism #1 can
  /// make: inside the space and naturally aligned.
  public static func isValidAccess(offset: Int, width: Int) -> Bool {
    (width == 1 || width == 2 || width == 4) && offset >= 0 && offset <= size - width
      && offset % width == 0
  }
}

/// Offsets in the configuration header (PCI Local Bus 3.0, 6.1).
public enum ConfigurationRegister {
  public static let vendorID = 0x00
  public static let deviceID = 0x02
  public static let command = 0x04
  public static let status = 0x06
  public static let revision = 0x08
  public static let programmingInterface = 0x09
  public static let subclass = 0x0A
  public static let classCode = 0x0B
  public static let headerType = 0x0E
  public static let firstBAR = 0x10
  /// Type 1 (PCI-to-PCI bridge) headers.
  public static let primaryBus = 0x18
  public static let secondaryBus = 0x19
  public static let subordinateBus = 0x1A
  /// Type 0 headers.
  public static let subsystemVendorID = 0x2C
  public static let subsystemID = 0x2E
  /// Types 0 and 1; CardBus bridges keep theirs at 0x14.
  public static let capabilitiesPointer = 0x34
  public static let cardBusCapabilitiesPointer = 0x14
  public static let interruptLine = 0x3C
  public static let interruptPin = 0x3D
  /// Where capabilities may start: the end of the standard header.
  public static let headerEnd = 0x40
}

/// The command register's bits that the kernel uses.
public struct CommandRegister: OptionSet, Sendable {
  public let rawValue: UInt16
  public init(rawValue: UInt16) { self.rawValue = rawValue }

  public static let ioSpace = CommandRegister(rawValue: 1 << 0)
  public static let memorySpace = CommandRegister(rawValue: 1 << 1)
  public static let busMaster = CommandRegister(rawValue: 1 << 2)
  /// PCI 2.3: the function must not assert INTx while this is set.
  public static let interruptDisable = CommandRegister(rawValue: 1 << 10)
}

/// The status register's bits that the kernel uses.
public struct StatusRegister: OptionSet, Sendable {
  public let rawValue: UInt16
  public init(rawValue: UInt16) { self.rawValue = rawValue }

  /// PCI 2.3: the function is asserting INTx (whether or not it is disabled).
  public static let interruptStatus = StatusRegister(rawValue: 1 << 3)
  public static let capabilitiesList = StatusRegister(rawValue: 1 << 4)
}
