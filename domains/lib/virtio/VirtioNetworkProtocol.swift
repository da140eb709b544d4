/// What virtio-net puts in memory: its device configuration, and the header in front
/// of every frame.
///
/// With VIRTIO_F_VERSION_1 the header is 12 bytes whichever features are negotiated
/// (spec 5.1.6): flags, GSO type, header length, GSO size, checksum start and offset,
/// and `num_buffers`, which only VIRTIO_NET_F_MRG_RXBUF gives a meaning (QEMU 7.2 leaves
/// it unwritten without it). This driver negotiates no offload, so every header it
/// sends is zero (no checksum to finish, GSO_NONE) and it reads nothing from a received
/// one: the frame after it is complete, and its checksums are the stack's to verify.
import Registers

/// The network device configuration (`struct virtio_net_config`), up to `status`.
public struct VirtioNetworkConfiguration<Window: MemoryWindow>: RegisterBlock {
  public static var byteCount: Int { 8 }
  public let window: Window
  public let base: Int

  public init(window: Window, base: Int) {
    self.window = window
    self.base = base
  }

  /// With `.networkMAC`: byte `index` (0 ..< 6) of the MAC address, in wire order.
  public func macByte(_ index: Int) -> ReadOnlyRegister<Window, UInt8> { register(at: index) }
  /// With `.networkStatus`: the link state.
  public var status: ReadOnlyRegister<Window, NetworkStatus> { register(at: 0x06) }
}

/// The device's `status` field.
public struct NetworkStatus: RegisterValue, Equatable, Sendable {
  public var raw: UInt16
  public init(raw: UInt16) { self.raw = raw }
}

extension Flag where Value == NetworkStatus, Access == ReadOnly {
  /// The link is up.
  public static var linkUp: Self { Flag(bit: 0) }
}

/// The header in front of every frame, and the frame sizes around it.
public enum VirtioNetworkHeader {
  /// Bytes of header with VIRTIO_F_VERSION_1.
  public static let byteCount = 12
}

/// Ethernet frame lengths as the device passes them: no FCS, no padding.
public enum EthernetFrameLength {
  /// A bare Ethernet header: anything shorter is not a frame.
  public static let minimum = 14
  /// The longest untagged frame (1500 bytes of payload).
  public static let maximum = 1514
}
