/// The fixed part of a function's configuration space: who it is and what kind of header.
///
/// The header type's low seven bits say how the rest of the header is laid out (a device,
/// a PCI-to-PCI bridge, a CardBus bridge); bit 7 says the device has more functions than
/// function 0. Everything the kernel logs about a function and decides before probing
/// its BARs and capabilities comes from here.

/// How the header past offset 0x10 is laid out.
public enum HeaderLayout: Equatable, Sendable {
  /// Type 0: a device, with six BARs.
  case general
  /// Type 1: a PCI-to-PCI bridge, with two BARs and bus numbers.
  case pciBridge
  /// Type 2: a CardBus bridge.
  case cardBusBridge
  /// A type the PCI specification does not define.
  case unknown(UInt8)

  init(type: UInt8) {
    switch type & 0x7F {
    case 0: self = .general
    case 1: self = .pciBridge
    case 2: self = .cardBusBridge
    case let other: self = .unknown(other)
    }
  }

  /// How many BAR registers the layout has.
  public var barCount: Int {
    switch self {
    case .general: 6
    case .pciBridge: 2
    case .cardBusBridge, .unknown: 0
    }
  }
}

public struct ConfigurationHeader: Equatable, Sendable {
  public var vendorID: UInt16
  public var deviceID: UInt16
  public var command: UInt16
  public var status: UInt16
  public var revision: UInt8
  public var classCode: UInt8
  public var subclass: UInt8
  public var programmingInterface: UInt8
  /// The raw header type, multi-function bit included.
  public var headerType: UInt8
  /// The ISA IRQ the firmware routed INTx to (0xFF or 0: none).
  public var interruptLine: UInt8
  /// 0: no INTx; 1-4: INTA#-INTD#.
  public var interruptPin: UInt8
  /// For PCI-to-PCI bridges, the bus behind them; 0 otherwise.
  public var secondaryBus: UInt8

  public var layout: HeaderLayout { HeaderLayout(type: headerType) }
  public var isMultiFunction: Bool { headerType & 0x80 != 0 }
  public var hasCapabilities: Bool {
    StatusRegister(rawValue: status).contains(.capabilitiesList)
  }

  /// Reads the header of the function at `space`; nil if there is no function there
  /// (a vendor ID of 0xFFFF, what an empty slot reads as, or 0, never assigned).
  public static func read<A>(from space: ConfigurationSpace<A>) -> ConfigurationHeader? {
    let vendor = space.read16(ConfigurationRegister.vendorID)
    guard vendor != 0xFFFF && vendor != 0 else { return nil }
    let headerType = space.read8(ConfigurationRegister.headerType)
    let isBridge = HeaderLayout(type: headerType) == .pciBridge
    return ConfigurationHeader(
      vendorID: vendor,
      deviceID: space.read16(ConfigurationRegister.deviceID),
      command: space.read16(ConfigurationRegister.command),
      status: space.read16(ConfigurationRegister.status),
      revision: space.read8(ConfigurationRegister.revision),
      classCode: space.read8(ConfigurationRegister.classCode),
      subclass: space.read8(ConfigurationRegister.subclass),
      programmingInterface: space.read8(ConfigurationRegister.programmingInterface),
      headerType: headerType,
      interruptLine: space.read8(ConfigurationRegister.interruptLine),
      interruptPin: space.read8(ConfigurationRegister.interruptPin),
      secondaryBus: isBridge ? space.read8(ConfigurationRegister.secondaryBus) : 0)
  }

  /// "host bridge", "Ethernet controller", ...: the class name for the log.
  public var className: String {
    PCIClass.name(
      classCode: classCode, subclass: subclass, programmingInterface: programmingInterface)
  }

  /// "A".."D" for INTA#-INTD#, nil without INTx.
  public var interruptPinName: String? {
    guard interruptPin >= 1 && interruptPin <= 4 else { return nil }
    return String(decoding: [UInt8(ascii: "A") + interruptPin - 1], as: UTF8.self)
  }
}
