/// MSI-X: a table of interrupt messages in one of the function's memory BARs.
///
/// The capability (PCI Local Bus 3.0, 6.8.2) gives the table's size, and which BAR and
/// offset hold the table and the pending-bit array. Each 16-byte table entry holds a
/// message address, the data to write there and a mask bit; the function signals an
/// interrupt by writing the data to the address, which on x86 is the local APIC's
/// window (`InterruptMessage`). Enabling MSI-X turns the function's INTx off.

public struct MSIXCapability: Equatable, Sendable {
  /// The capability's offset in configuration space.
  public var offset: Int
  /// Entries in the table, 1-2048.
  public var tableSize: Int
  public var tableBAR: Int
  public var tableOffset: UInt64
  public var pendingBitsBAR: Int
  public var pendingBitsOffset: UInt64
  public var isEnabled: Bool
  public var isFunctionMasked: Bool

  /// Bytes per table entry, and the offsets inside one.
  public static let entrySize = 16
  public static let entryAddressLow = 0
  public static let entryAddressHigh = 4
  public static let entryData = 8
  public static let entryVectorControl = 12
  /// Vector control bit 0: this entry may not send.
  public static let entryMasked: UInt32 = 1

  /// Message control: bit 15 enables MSI-X, bit 14 masks every entry.
  public static let enableBit: UInt16 = 1 << 15
  public static let functionMaskBit: UInt16 = 1 << 14
  /// Where message control sits in the capability.
  public var messageControlOffset: Int { offset + 2 }

  /// Reads the capability at `capability` (an MSI-X one) and checks it against `bars`:
  /// the table and pending bits must lie inside memory BARs the function has.
  public static func read<A>(
    from space: ConfigurationSpace<A>, at capability: Capability, bars: [BaseAddressRegister]
  ) throws(PCIError) -> MSIXCapability {
    try capability.requireLength(12, at: space.address)
    let control = space.read16(capability.offset + 2)
    let table = space.read32(capability.offset + 4)
    let pending = space.read32(capability.offset + 8)
    let msix = MSIXCapability(
      offset: capability.offset, tableSize: Int(control & 0x7FF) + 1,
      tableBAR: Int(table & 0x7), tableOffset: UInt64(table & ~0x7),
      pendingBitsBAR: Int(pending & 0x7), pendingBitsOffset: UInt64(pending & ~0x7),
      isEnabled: control & enableBit != 0, isFunctionMasked: control & functionMaskBit != 0)
    try msix.check(.table, in: bars, at: space.address)
    try msix.check(.pendingBits, in: bars, at: space.address)
    return msix
  }

  /// Bytes the table takes: 16 an entry.
  public var tableLength: UInt64 { UInt64(tableSize * MSIXCapability.entrySize) }
  /// Bytes the pending-bit array takes: one bit an entry, in 64-bit words.
  public var pendingBitsLength: UInt64 { UInt64((tableSize + 63) / 64 * 8) }

  /// The offset of `entry`'s first byte in the table's BAR.
  public func entryOffset(_ entry: Int) -> UInt64 {
    precondition(entry >= 0 && entry < tableSize, "no such MSI-X entry")
    return tableOffset + UInt64(entry * MSIXCapability.entrySize)
  }

  private func check(
    _ structure: MSIXStructure, in bars: [BaseAddressRegister], at address: PCIAddress
  )
    throws(PCIError)
  {
    let (index, offset, length) =
      structure == .table
      ? (tableBAR, tableOffset, tableLength)
      : (pendingBitsBAR, pendingBitsOffset, pendingBitsLength)
    guard let bar = bars.first(where: { $0.index == index }), bar.kind.isMemory else {
      throw .msixInMissingBAR(address, structure, bar: index)
    }
    guard offset <= bar.size && length <= bar.size - offset else {
      throw .msixOutsideBAR(
        address, structure, bar: index, offset: offset, length: length, barSize: bar.size)
    }
  }
}

/// MSI: one message (or a power-of-two block) set in configuration space itself.
/// The kernel prefers MSI-X and otherwise uses INTx; MSI is decoded for the log.
public struct MSICapability: Equatable, Sendable {
  public var offset: Int
  public var is64Bit: Bool
  public var hasPerVectorMasking: Bool
  /// How many vectors the function can ask for (1-32).
  public var vectorsCapable: Int
  public var isEnabled: Bool

  public static func read<A>(from space: ConfigurationSpace<A>, at capability: Capability)
    throws(PCIError) -> MSICapability
  {
    let control = space.read16(capability.offset + 2)
    let is64Bit = control & (1 << 7) != 0
    let masking = control & (1 << 8) != 0
    // ID, control, address (+4 if 64-bit), data, then mask and pending if masking.
    try capability.requireLength((is64Bit ? 14 : 10) + (masking ? 10 : 0), at: space.address)
    return MSICapability(
      offset: capability.offset, is64Bit: is64Bit, hasPerVectorMasking: masking,
      vectorsCapable: 1 << min(5, Int((control >> 1) & 0x7)), isEnabled: control & 1 != 0)
  }

  /// The offset of the message data register.
  public var dataOffset: Int { offset + (is64Bit ? 0x0C : 0x08) }
}

/// An x86 message-signalled interrupt: a write of `data` to `address`.
public struct InterruptMessage: Equatable, Sendable {
  public var address: UInt64
  public var data: UInt32

  /// Fixed delivery of `vector` to the local APIC with ID `apicID`, edge-triggered (Intel
  /// SDM vol. 3, 11.11): address 0xFEE00000 with the APIC ID in bits 19:12, data the vector.
  public init(vector: UInt8, apicID: UInt8) {
    address = 0xFEE0_0000 | UInt64(apicID) << 12
    data = UInt32(vector)
  }
}
