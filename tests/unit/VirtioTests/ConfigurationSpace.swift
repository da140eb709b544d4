/// A PCI function's configuration space as plain bytes, with builders for the header and
/// capability list, so tests can lay out well-formed and broken devices alike.
import Virtio

struct ConfigurationSpace: PCIConfigurationSpace {
  var bytes = [UInt8](repeating: 0, count: 256)

  func read8(at offset: Int) -> UInt8 { bytes[offset] }
  func read16(at offset: Int) -> UInt16 {
    UInt16(read8(at: offset)) | UInt16(read8(at: offset + 1)) << 8
  }
  func read32(at offset: Int) -> UInt32 {
    UInt32(read16(at: offset)) | UInt32(read16(at: offset + 2)) << 16
  }

  mutating func write8(_ value: UInt8, at offset: Int) { bytes[offset] = value }
  mutating func write16(_ value: UInt16, at offset: Int) {
    write8(UInt8(truncatingIfNeeded: value), at: offset)
    write8(UInt8(truncatingIfNeeded: value >> 8), at: offset + 1)
  }
  mutating func write32(_ value: UInt32, at offset: Int) {
    write16(UInt16(truncatingIfNeeded: value), at: offset)
    write16(UInt16(truncatingIfNeeded: value >> 16), at: offset + 2)
  }

  /// A virtio device of `deviceID` (modern block: 0x1042) with no capabilities yet.
  init(vendorID: UInt16 = 0x1AF4, deviceID: UInt16 = 0x1042, subsystemID: UInt16 = 2) {
    write16(vendorID, at: 0x00)
    write16(deviceID, at: 0x02)
    write16(subsystemID, at: 0x2E)
  }

  /// One capability in the list: its bytes at `offset`, linked after the ones before.
  struct Capability {
    var offset: Int
    var bytes: [UInt8]

    /// A virtio capability for a structure of `kind` (1-4, or others the driver skips).
    static func virtio(
      at offset: Int, kind: UInt8, bar: UInt8 = 4, structureOffset: UInt32, length: UInt32,
      multiplier: UInt32? = nil, capabilityLength: Int? = nil
    ) -> Capability {
      var bytes: [UInt8] = [0x09, 0, 0, kind, bar, 0, 0, 0]
      for value in [structureOffset, length] + (multiplier.map { [$0] } ?? []) {
        bytes += (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
      }
      bytes[2] = UInt8(capabilityLength ?? bytes.count)
      return Capability(offset: offset, bytes: bytes)
    }

    /// Another kind of capability (MSI-X is 0x11), which the parse passes over.
    static func other(at offset: Int, id: UInt8) -> Capability {
      Capability(offset: offset, bytes: [id, 0, 0, 0])
    }
  }

  /// Writes `capabilities` linked in order and sets the capability-list status bit.
  mutating func link(_ capabilities: [Capability]) {
    write16(1 << 4, at: 0x06)
    write8(UInt8(capabilities.first?.offset ?? 0), at: 0x34)
    for (index, capability) in capabilities.enumerated() {
      for (position, byte) in capability.bytes.enumerated()
      where capability.offset + position < 256 {
        write8(byte, at: capability.offset + position)
      }
      let next = index + 1 < capabilities.count ? capabilities[index + 1].offset : 0
      write8(UInt8(next), at: capability.offset + 1)
    }
  }

  /// The layout QEMU gives a modern virtio-pci device (a block device unless
  /// `deviceID` says otherwise): an MSI-X capability first, then virtio's, every
  /// structure in BAR 4 with the notification multiplier 4.
  static func qemuLike(deviceConfiguration: Bool = true, deviceID: UInt16 = 0x1042)
    -> ConfigurationSpace
  {
    var space = ConfigurationSpace(deviceID: deviceID, subsystemID: deviceID &- 0x1040)
    var capabilities: [Capability] = [
      .other(at: 0x98, id: 0x11),
      .virtio(at: 0x84, kind: 5, bar: 0, structureOffset: 0, length: 0),
      .virtio(
        at: 0x70, kind: 2, structureOffset: UInt32(SimulatedVirtioDevice.notificationBase),
        length: 0x1000, multiplier: SimulatedVirtioDevice.notifyMultiplier),
      .virtio(
        at: 0x50, kind: 3, structureOffset: UInt32(SimulatedVirtioDevice.interruptBase),
        length: 0x1000),
      .virtio(at: 0x40, kind: 1, structureOffset: 0, length: 0x1000),
    ]
    if deviceConfiguration {
      capabilities.insert(
        .virtio(
          at: 0x60, kind: 4, structureOffset: UInt32(SimulatedVirtioDevice.configurationBase),
          length: 0x1000), at: 3)
    }
    space.link(capabilities)
    return space
  }
}
