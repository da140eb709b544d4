/// What can be wrong with a function's configuration space, with what is needed to say so.
///
/// Each case names the function and the register or capability involved, so a test can
/// match the exact problem and the boot log can print it. A function with one of these
/// problems is logged and left alone; the scan and the rest of the boot go on.

/// The MSI-X structures that live in a BAR.
public enum MSIXStructure: Equatable, Sendable {
  case table, pendingBits

  var name: String { self == .table ? "table" : "pending-bit array" }
}

public enum PCIError: Error, Equatable, Sendable {
  /// The header type is none of 0, 1 and 2.
  case unknownHeaderLayout(PCIAddress, headerType: UInt8)
  /// A capability pointer (at `from`, or the header's pointer when `from` is 0x34 or 0x14)
  /// points into the standard header.
  case capabilityPointerIntoHeader(PCIAddress, from: Int, pointer: Int)
  /// The capability list comes back to the capability at `offset`.
  case capabilityLoop(PCIAddress, offset: Int)
  /// A capability's structure (`length` bytes at `offset`) runs past the 256-byte space.
  case capabilityPastEnd(PCIAddress, id: UInt8, offset: Int, length: Int)
  /// A memory BAR's type field is 0b11, which the specification reserves.
  case reservedMemoryType(PCIAddress, bar: Int)
  /// A 64-bit BAR in the last BAR register, with no register left for its upper half.
  case sixtyFourBitBARInLastSlot(PCIAddress, bar: Int)
  /// The all-ones readback of a BAR is not a run of ones above its size.
  case nonContiguousSizeMask(PCIAddress, bar: Int, readback: UInt64)
  /// A BAR's base is not a multiple of its size.
  case misalignedBAR(PCIAddress, bar: Int, base: UInt64, size: UInt64)
  /// A BAR's base plus size passes the top of its address space (or, for a 64-bit BAR,
  /// reaches it: its end would not be a 64-bit number).
  case barWraps(PCIAddress, bar: Int, base: UInt64, size: UInt64)
  /// An MSI-X structure is said to be in a BAR that is missing or not memory.
  case msixInMissingBAR(PCIAddress, MSIXStructure, bar: Int)
  /// An MSI-X structure (`length` bytes at `offset` in its BAR) runs past the BAR.
  case msixOutsideBAR(
    PCIAddress, MSIXStructure, bar: Int, offset: UInt64, length: UInt64, barSize: UInt64)
  /// A PCI-to-PCI bridge names a secondary bus already scanned (or bus 0): a loop.
  case bridgeToScannedBus(PCIAddress, bus: UInt8)
  /// No room in the window for an unassigned BAR.
  case noRoomForBAR(PCIAddress, bar: Int, size: UInt64)
  /// An unassigned BAR on a bus behind a bridge, whose windows the kernel does not set.
  case unassignedBehindBridge(PCIAddress, bar: Int)

  public var address: PCIAddress {
    switch self {
    case .unknownHeaderLayout(let address, _), .capabilityPointerIntoHeader(let address, _, _),
      .capabilityLoop(let address, _), .capabilityPastEnd(let address, _, _, _),
      .reservedMemoryType(let address, _), .sixtyFourBitBARInLastSlot(let address, _),
      .nonContiguousSizeMask(let address, _, _), .misalignedBAR(let address, _, _, _),
      .barWraps(let address, _, _, _), .msixInMissingBAR(let address, _, _),
      .msixOutsideBAR(let address, _, _, _, _, _), .bridgeToScannedBus(let address, _),
      .noRoomForBAR(let address, _, _), .unassignedBehindBridge(let address, _):
      return address
    }
  }

  /// What is wrong, in words, after the function's address.
  public var message: String {
    let function = "pci " + address.description + ": "
    switch self {
    case .unknownHeaderLayout(_, let type):
      return function + "header type \(hex(type)) is not one the PCI specification defines"
    case .capabilityPointerIntoHeader(_, let from, let pointer):
      return function + "capability pointer at \(hex(from)) points to \(hex(pointer)), "
        + "inside the standard header"
    case .capabilityLoop(_, let offset):
      return function + "capability list loops back to \(hex(offset))"
    case .capabilityPastEnd(_, let id, let offset, let length):
      return function + "capability \(hex(id)) at \(hex(offset)) needs \(length) bytes, "
        + "past the end of configuration space"
    case .reservedMemoryType(_, let bar):
      return function + "BAR\(bar) has the reserved memory type 0b11"
    case .sixtyFourBitBARInLastSlot(_, let bar):
      return function + "BAR\(bar) is 64-bit but has no register left for its upper half"
    case .nonContiguousSizeMask(_, let bar, let readback):
      return function + "BAR\(bar) reads back \(hex(readback)) after writing all ones, "
        + "which is no size"
    case .misalignedBAR(_, let bar, let base, let size):
      return function + "BAR\(bar) at \(hex(base)) is not aligned to its size \(hex(size))"
    case .barWraps(_, let bar, let base, let size):
      return function + "BAR\(bar) at \(hex(base)) with size \(hex(size)) wraps around"
    case .msixInMissingBAR(_, let structure, let bar):
      return function + "MSI-X \(structure.name) is in BAR\(bar), which is not a memory BAR"
    case .msixOutsideBAR(_, let structure, let bar, let offset, let length, let barSize):
      return function + "MSI-X \(structure.name) (\(hex(length)) bytes at \(hex(offset))) "
        + "runs past BAR\(bar) (\(hex(barSize)) bytes)"
    case .bridgeToScannedBus(_, let bus):
      return function + "bridge to bus \(hex(bus)), which is already scanned: not followed"
    case .noRoomForBAR(_, let bar, let size):
      return function + "no room for BAR\(bar) (\(hex(size)) bytes) in the PCI window"
    case .unassignedBehindBridge(_, let bar):
      return function + "BAR\(bar) is unassigned and behind a bridge the kernel does not set up"
    }
  }
}
