/// Why a virtio device could not be found, set up or driven: the transport's errors.
public enum VirtioError: Error, Equatable, Sendable {
  /// The PCI function is not a virtio device.
  case notVirtio(vendorID: UInt16, deviceID: UInt16)
  /// The function has no capability list, so no modern virtio interface.
  case noCapabilityList
  /// No virtio common configuration capability: a legacy-only device.
  case noCommonConfiguration
  /// A structure every modern device has is missing.
  case missingStructure(VirtioStructureKind)
  /// The capability at `offset` in configuration space is broken.
  case malformedCapability(offset: Int, MalformedCapability)
  /// A structure lies outside its BAR, or in a BAR that is not memory.
  case structureOutsideBAR(VirtioStructureKind)
  /// A window the caller mapped is smaller than the structure it holds needs.
  case windowTooSmall(VirtioStructureKind)
  /// The device did not read back 0 after a reset.
  case resetTimedOut
  /// The device does not offer VIRTIO_F_VERSION_1: it has only the legacy interface.
  case legacyOnlyDevice
  /// The device does not offer features the driver requires.
  case missingFeatures(VirtioFeatures)
  /// The device cleared FEATURES_OK: it does not accept the features the driver chose.
  case featuresNotAccepted
  /// The device has no queue with this index (its size reads 0), or it is enabled already.
  case queueUnavailable(UInt16)
  /// The memory given for a queue is smaller than its rings need, or not 16-byte
  /// aligned at the device.
  case queueMemoryUnusable(needed: Int, available: Int)
  /// The device refused the MSI-X vector for a queue or for configuration changes.
  case vectorRejected(UInt16)
  /// A queue's notification address lies outside the notification window, or is
  /// misaligned.
  case notificationOutOfRange(queue: UInt16)
  /// The device set DEVICE_NEEDS_RESET: it cannot go on until reset.
  case deviceNeedsReset

  /// What is wrong with a malformed capability.
  public enum MalformedCapability: Equatable, Sendable {
    /// A next pointer outside the capability area of configuration space.
    case pointerOutOfRange
    /// The list visits a capability twice.
    case listLoops
    /// The capability is shorter than its type requires or runs past configuration space.
    case truncated
    /// The structure it describes is shorter than its type requires.
    case structureTooShort
    /// The structure's offset, or the notification multiplier, is not aligned.
    case misaligned
  }

  /// What went wrong, in words, for a log line. The text is fixed, so that reporting an
  /// error never allocates; print the case's values beside it.
  public var message: String {
    switch self {
    case .notVirtio: "not a virtio PCI device"
    case .noCapabilityList: "PCI function has no capability list: legacy-only virtio device?"
    case .noCommonConfiguration: "no virtio common configuration capability: legacy-only device?"
    case .missingStructure(.notification): "no virtio notification capability"
    case .missingStructure(.interruptStatus): "no virtio ISR status capability"
    case .missingStructure: "no virtio device configuration capability"
    case .malformedCapability(_, .pointerOutOfRange):
      "malformed PCI capability list: pointer out of range"
    case .malformedCapability(_, .listLoops): "malformed PCI capability list: it loops"
    case .malformedCapability(_, .truncated): "malformed virtio capability: truncated"
    case .malformedCapability(_, .structureTooShort):
      "malformed virtio capability: structure too short"
    case .malformedCapability(_, .misaligned): "malformed virtio capability: misaligned"
    case .structureOutsideBAR: "a virtio structure lies outside its memory BAR"
    case .windowTooSmall: "virtio structure window smaller than the structure"
    case .resetTimedOut: "virtio device did not finish its reset"
    case .legacyOnlyDevice:
      "virtio device does not offer VIRTIO_F_VERSION_1: legacy-only device, not supported"
    case .missingFeatures: "virtio device does not offer features the driver requires"
    case .featuresNotAccepted: "virtio device did not accept the negotiated features"
    case .queueUnavailable: "virtio queue not available"
    case .queueMemoryUnusable: "memory for the virtio queue is too small or misaligned"
    case .vectorRejected: "virtio device refused the MSI-X vector"
    case .notificationOutOfRange: "virtio queue notification address outside its window"
    case .deviceNeedsReset: "virtio device needs a reset"
    }
  }
}
