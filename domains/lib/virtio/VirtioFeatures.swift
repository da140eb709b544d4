/// Virtio feature bits: the device offers a set, the driver accepts a subset.
///
/// Bits 0-23 belong to the device type (the `block` ones below are virtio-blk's, the
/// `network` ones virtio-net's), 24 and up to the transport and the rings.
public struct VirtioFeatures: OptionSet, Equatable, Sendable {
  public let rawValue: UInt64
  public init(rawValue: UInt64) { self.rawValue = rawValue }

  /// Descriptors may point at tables of descriptors.
  public static let indirectDescriptors = Self(rawValue: 1 << 28)
  /// Notification suppression by ring indices rather than flags.
  public static let eventIndex = Self(rawValue: 1 << 29)
  /// The device follows virtio 1.x (modern); without it, it is legacy-only.
  public static let version1 = Self(rawValue: 1 << 32)
  /// The device reaches memory through the platform's translation (an IOMMU): the
  /// addresses a driver gives it must be device addresses, which `DMAMemory` provides.
  public static let accessPlatform = Self(rawValue: 1 << 33)
  /// Packed rings instead of split ones.
  public static let ringPacked = Self(rawValue: 1 << 34)
  /// The device uses buffers in the order they were made available.
  public static let inOrder = Self(rawValue: 1 << 35)
  /// Notifications carry extra data beside the queue index.
  public static let notificationData = Self(rawValue: 1 << 38)
  /// Queues can be reset one by one.
  public static let ringReset = Self(rawValue: 1 << 40)

  /// Block device: the maximum size of one segment is in `size_max`.
  public static let blockSizeMax = Self(rawValue: 1 << 1)
  /// Block device: the maximum number of segments of one request is in `seg_max`.
  public static let blockSegmentMax = Self(rawValue: 1 << 2)
  /// Block device: disk geometry is in `geometry`.
  public static let blockGeometry = Self(rawValue: 1 << 4)
  /// Block device: read-only; writes fail.
  public static let blockReadOnly = Self(rawValue: 1 << 5)
  /// Block device: the preferred logical block size is in `blk_size`.
  public static let blockSize = Self(rawValue: 1 << 6)
  /// Block device: flush requests are supported (and the device may cache writes).
  public static let blockFlush = Self(rawValue: 1 << 9)
  /// Block device: alignment and optimal I/O sizes are in `topology`.
  public static let blockTopology = Self(rawValue: 1 << 10)
  /// Block device: the cache mode can be switched through `writeback`.
  public static let blockConfigurableWriteCache = Self(rawValue: 1 << 11)
  /// Block device: several request queues.
  public static let blockMultiqueue = Self(rawValue: 1 << 12)
  /// Block device: discard requests.
  public static let blockDiscard = Self(rawValue: 1 << 13)
  /// Block device: write-zeroes requests.
  public static let blockWriteZeroes = Self(rawValue: 1 << 14)

  /// Network device: the device checksums frames the driver sends partly checksummed.
  public static let networkChecksum = Self(rawValue: 1 << 0)
  /// Network device: the device has a MAC address, in `mac`.
  public static let networkMAC = Self(rawValue: 1 << 5)
  /// Network device: a received frame may span several buffers (`num_buffers`).
  public static let networkMergeableReceiveBuffers = Self(rawValue: 1 << 15)
  /// Network device: the link state is in `status`.
  public static let networkStatus = Self(rawValue: 1 << 16)
  /// Network device: a control queue beside the receive and transmit queues.
  public static let networkControlQueue = Self(rawValue: 1 << 17)

  /// The low and high 32-bit halves, as the feature registers show them.
  public var low: UInt32 { UInt32(truncatingIfNeeded: rawValue) }
  public var high: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

  public init(low: UInt32, high: UInt32) { self.init(rawValue: UInt64(high) << 32 | UInt64(low)) }
}
