/// Where a modern virtio PCI device keeps its structures: found by walking the
/// function's capability list for virtio's vendor-specific capabilities.
///
/// Each says a structure type (common configuration, notifications, interrupt status,
/// device configuration, ...), the BAR it lives in, and its offset and length there.
/// The caller maps each structure as a window of its BAR and hands the windows to
/// `VirtioPCITransport`. Following the spec, the first capability of each type is used,
/// and capabilities of unknown types or naming a reserved BAR are skipped. A device
/// without a common configuration capability has only the legacy interface, which this
/// library does not drive.

/// One virtio structure: `length` bytes at `offset` in BAR `bar`.
public struct VirtioStructure: Equatable, Sendable {
  /// The BAR index, 0 to 5.
  public let bar: Int
  public let offset: Int
  public let length: Int

  public init(bar: Int, offset: Int, length: Int) {
    self.bar = bar
    self.offset = offset
    self.length = length
  }

  /// Whether the structure lies inside a BAR of `barSize` bytes.
  public func fits(inBarOfSize barSize: UInt64) -> Bool {
    UInt64(offset) <= barSize && UInt64(length) <= barSize - UInt64(offset)
  }
}

/// The structure types of virtio's PCI capabilities (`cfg_type`).
public enum VirtioStructureKind: UInt8, Equatable, Sendable {
  case commonConfiguration = 1
  case notification = 2
  case interruptStatus = 3
  case deviceConfiguration = 4

  /// The fewest bytes a usable structure of this kind has: the common configuration
  /// up to `queue_device`, one 16-bit notification, the one ISR byte.
  var minimumLength: Int {
    switch self {
    case .commonConfiguration: commonConfigurationByteCount
    case .notification: 2
    case .interruptStatus: 1
    case .deviceConfiguration: 0
    }
  }

  /// The alignment of the structure's offset in its BAR, as the spec requires it.
  var alignment: Int {
    switch self {
    case .commonConfiguration, .deviceConfiguration: 4
    case .notification: 2
    case .interruptStatus: 1
    }
  }
}

public struct VirtioPCICapabilities: Equatable, Sendable {
  public let common: VirtioStructure
  public let notification: VirtioStructure
  /// A queue's notification address is `notification.offset + queue_notify_off *
  /// notifyOffsetMultiplier` in its BAR; `VirtioPCITransport` does the arithmetic.
  public let notifyOffsetMultiplier: UInt32
  public let interruptStatus: VirtioStructure
  /// Absent for device types without device-specific configuration.
  public let device: VirtioStructure?

  public init(
    common: VirtioStructure, notification: VirtioStructure, notifyOffsetMultiplier: UInt32,
    interruptStatus: VirtioStructure, device: VirtioStructure?
  ) {
    self.common = common
    self.notification = notification
    self.notifyOffsetMultiplier = notifyOffsetMultiplier
    self.interruptStatus = interruptStatus
    self.device = device
  }

  /// Walks `config`'s capability list. Throws for a list that leaves the configuration
  /// space, loops or holds a truncated virtio capability, and for a missing common,
  /// notification or ISR structure.
  public init<Config: PCIConfigurationSpace>(reading config: Config) throws(VirtioError) {
    guard config.read16(at: PCIHeader.status) & PCIHeader.hasCapabilityList != 0 else {
      throw .noCapabilityList
    }
    var found = FoundStructures()
    var offset = Int(config.read8(at: PCIHeader.capabilitiesPointer) & 0xFC)
    // Capabilities are dword-aligned in the 192 bytes after the header, so a list
    // longer than 48 entries must visit one twice.
    var remaining = (PCIHeader.byteCount - PCIHeader.firstCapabilityOffset) / 4
    while offset != 0 {
      guard offset >= PCIHeader.firstCapabilityOffset, offset <= PCIHeader.byteCount - 4 else {
        throw .malformedCapability(offset: offset, .pointerOutOfRange)
      }
      guard remaining > 0 else { throw .malformedCapability(offset: offset, .listLoops) }
      remaining -= 1
      if config.read8(at: offset) == PCIHeader.vendorSpecificCapability {
        try found.record(try VirtioCapability(reading: config, at: offset))
      }
      offset = Int(config.read8(at: offset + 1) & 0xFC)
    }
    guard let common = found.common else { throw .noCommonConfiguration }
    guard let notification = found.notification else {
      throw .missingStructure(.notification)
    }
    guard let isr = found.interruptStatus else { throw .missingStructure(.interruptStatus) }
    self.init(
      common: common, notification: notification,
      notifyOffsetMultiplier: found.notifyOffsetMultiplier, interruptStatus: isr,
      device: found.device)
  }
}

/// One virtio capability as it sits in configuration space (`struct virtio_pci_cap`,
/// and for notifications the multiplier after it).
private struct VirtioCapability {
  /// nil for a type this library does not use.
  let kind: VirtioStructureKind?
  let structure: VirtioStructure
  let notifyOffsetMultiplier: UInt32
  let offsetInConfigurationSpace: Int

  static let headerLength = 16
  static let notificationLength = 20

  init<Config: PCIConfigurationSpace>(reading config: Config, at offset: Int) throws(VirtioError) {
    let length = Int(config.read8(at: offset + 2))
    guard length >= Self.headerLength, offset + length <= PCIHeader.byteCount else {
      throw .malformedCapability(offset: offset, .truncated)
    }
    kind = VirtioStructureKind(rawValue: config.read8(at: offset + 3))
    structure = VirtioStructure(
      bar: Int(config.read8(at: offset + 4)), offset: Int(config.read32(at: offset + 8)),
      length: Int(config.read32(at: offset + 12)))
    offsetInConfigurationSpace = offset
    if kind == .notification {
      guard length >= Self.notificationLength else {
        throw .malformedCapability(offset: offset, .truncated)
      }
      notifyOffsetMultiplier = config.read32(at: offset + 16)
      // 0 (one address for all queues) or a power of two of at least 2, so that every
      // queue's 16-bit notification is aligned.
      guard notifyOffsetMultiplier % 2 == 0 else {
        throw .malformedCapability(offset: offset, .misaligned)
      }
    } else {
      notifyOffsetMultiplier = 0
    }
  }
}

/// The first usable structure of each kind, as the walk finds them.
private struct FoundStructures {
  var common: VirtioStructure?
  var notification: VirtioStructure?
  var notifyOffsetMultiplier: UInt32 = 0
  var interruptStatus: VirtioStructure?
  var device: VirtioStructure?

  /// BARs 0-5 exist; the spec reserves other values, and their capabilities are skipped.
  static let barCount = 6

  mutating func record(_ capability: VirtioCapability) throws(VirtioError) {
    guard let kind = capability.kind, capability.structure.bar < Self.barCount else { return }
    let structure = capability.structure
    let at = capability.offsetInConfigurationSpace
    guard structure.length >= kind.minimumLength else {
      throw .malformedCapability(offset: at, .structureTooShort)
    }
    // Misaligned registers would trap at their first access; refuse them here.
    guard structure.offset % kind.alignment == 0 else {
      throw .malformedCapability(offset: at, .misaligned)
    }
    switch kind {
    case .commonConfiguration: if common == nil { common = structure }
    case .notification:
      if notification == nil {
        notification = structure
        notifyOffsetMultiplier = capability.notifyOffsetMultiplier
      }
    case .interruptStatus: if interruptStatus == nil { interruptStatus = structure }
    case .deviceConfiguration: if device == nil { device = structure }
    }
  }
}
