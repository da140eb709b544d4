/// The capability list: optional features (MSI, MSI-X, power management, vendor data)
/// chained through configuration space.
///
/// The header points at the first capability; each starts with its ID and a pointer to
/// the next, 0 ending the list. The walk distrusts every pointer: one into the standard
/// header, one back to a capability already seen, or a structure running past the end
/// of the space is an error naming the place, never a hang or a read out of bounds.
/// Pointers are 4-byte aligned; their low two bits are reserved, so they are masked off.

public struct Capability: Equatable, Sendable {
  public var id: UInt8
  /// Where it starts in configuration space.
  public var offset: Int

  public init(id: UInt8, offset: Int) {
    self.id = id
    self.offset = offset
  }
}

public enum CapabilityID {
  public static let powerManagement: UInt8 = 0x01
  public static let msi: UInt8 = 0x05
  public static let vendorSpecific: UInt8 = 0x09
  public static let pciExpress: UInt8 = 0x10
  public static let msix: UInt8 = 0x11
}

extension Capability {
  /// Every capability of the function at `space`, in list order.
  public static func walk<A>(in space: ConfigurationSpace<A>, header: ConfigurationHeader)
    throws(PCIError) -> [Capability]
  {
    guard header.hasCapabilities else { return [] }
    var from =
      header.layout == .cardBusBridge
      ? ConfigurationRegister.cardBusCapabilitiesPointer : ConfigurationRegister.capabilitiesPointer
    var pointer = Int(space.read8(from) & ~0x3)
    var found: [Capability] = []
    while pointer != 0 {
      guard pointer >= ConfigurationRegister.headerEnd else {
        throw .capabilityPointerIntoHeader(space.address, from: from, pointer: pointer)
      }
      guard !found.contains(where: { $0.offset == pointer }) else {
        throw .capabilityLoop(space.address, offset: pointer)
      }
      found.append(Capability(id: space.read8(pointer), offset: pointer))
      from = pointer + 1
      pointer = Int(space.read8(from) & ~0x3)
    }
    return found
  }

  /// Throws unless `length` bytes from the capability's start fit in configuration space.
  func requireLength(_ length: Int, at address: PCIAddress) throws(PCIError) {
    guard offset + length <= 256 else {
      throw .capabilityPastEnd(address, id: id, offset: offset, length: length)
    }
  }
}
