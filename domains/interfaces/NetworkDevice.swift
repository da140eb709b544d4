// The NetworkDevice interface: an Ethernet NIC, sending and receiving frames in RRef buffers.
import Packets
import SwiftletLib

/// Room for one Ethernet frame: the largest the NICs accept (1514 bytes, 1518 with a
/// VLAN tag) rounded up to the 2 KiB receive buffers they are set up with.
public typealias FrameBytes = InlineArray<2048, UInt8>

/// Where a packet buffer is in its life, and how its last trip through a driver ended.
public enum PacketStatus: UInt8, Equatable, BitwiseCopyable {
  /// Holds nothing: new, or posted for receive and not filled.
  case empty
  /// Holds a frame the device received: `length` bytes of `frame`.
  case received
  /// Its frame went out: the device is done with the buffer.
  case sent
  /// Not sent: `length` is below the 14-byte Ethernet header or above what the device
  /// takes (`NetworkDeviceInfo.maximumFrameLength`).
  case badLength
  /// The device reported an error for it, or was reset while it held it.
  case deviceError
  /// The driver has no device; nothing was sent.
  case noDevice
  /// The network stack could not send it (see `DatagramInfo.status`).
  case notSent
}

/// What the network stack says about a buffer carrying a UDP datagram (DatagramSockets):
/// zero for a buffer that carries none.
public struct DatagramInfo: Equatable, Sendable, BitwiseCopyable {
  /// The other end: where a received datagram came from, where one to send goes.
  public var remote: IPv4Endpoint
  /// The local port: where a received datagram arrived.
  public var localPort: UInt16
  /// The payload's length; the payload starts at `PacketBuffer.udpPayloadOffset`.
  public var payloadLength: UInt16

  public init(remote: IPv4Endpoint, localPort: UInt16, payloadLength: UInt16) {
    self.remote = remote
    self.localPort = localPort
    self.payloadLength = payloadLength
  }

  public static let none = DatagramInfo(
    remote: IPv4Endpoint(address: .any, port: 0), localPort: 0, payloadLength: 0)
}

/// One frame's buffer, in one shared-heap allocation that moves between the network
/// stack, a driver, the device (by DMA, in place) and, for datagrams, the application.
public struct PacketBuffer: BitwiseCopyable {
  /// The driver's room for the device's own per-frame header, right before the frame,
  /// so that the device reads and writes header and frame in one run (virtio-net's
  /// 12-byte header takes the last 12 bytes). It means nothing outside the driver.
  public var deviceHeader: InlineArray<16, UInt8>
  /// The frame, from the destination MAC address on; no FCS.
  public var frame: FrameBytes
  /// How many bytes of `frame` hold the frame.
  public var length: UInt16
  public var status: PacketStatus
  /// The datagram it carries, for DatagramSockets.
  public var datagram: DatagramInfo

  /// An empty buffer.
  public init() {
    deviceHeader = InlineArray(repeating: 0)
    frame = FrameBytes(repeating: 0)
    length = 0
    status = .empty
    datagram = .none
  }

  /// Where `deviceHeader` starts in the allocation (the allocation's start).
  public static let deviceHeaderOffset = 0
  /// Where `frame` starts in the allocation: what a driver hands the device.
  public static let frameOffset = 16
  /// Where a UDP payload starts in `frame`: after the Ethernet (14), IPv4 (20, no
  /// options) and UDP (8) headers. The stack writes the headers in front of it.
  public static let udpPayloadOffset = 42
  /// The largest UDP payload that fits one unfragmented frame.
  public static let udpPayloadCapacity = 1472
}

/// Which driver runs a network device.
public enum NetworkDriverKind: UInt8, Equatable, BitwiseCopyable {
  case virtioNet
  case e1000

  /// The driver domain's name.
  public var name: StaticString {
    switch self {
    case .virtioNet: "virtio_net"
    case .e1000: "e1000"
    }
  }
}

/// What a network device is.
public struct NetworkDeviceInfo: Equatable, BitwiseCopyable {
  public var driver: NetworkDriverKind
  /// False if the driver has no device (none attached, or one it refused): then every
  /// transmitted buffer comes back `.noDevice` and nothing is ever received.
  public var hasDevice: Bool
  public var mac: MACAddress
  public var linkUp: Bool
  /// The longest frame `transmit` takes (without FCS).
  public var maximumFrameLength: UInt16
  /// How many empty buffers the driver keeps posted for receive, at most.
  public var receiveCapacity: UInt16
  /// How many frames can be in flight to the device at once.
  public var transmitCapacity: UInt16

  public init(
    driver: NetworkDriverKind, hasDevice: Bool, mac: MACAddress, linkUp: Bool,
    maximumFrameLength: UInt16, receiveCapacity: UInt16, transmitCapacity: UInt16
  ) {
    self.driver = driver
    self.hasDevice = hasDevice
    self.mac = mac
    self.linkUp = linkUp
    self.maximumFrameLength = maximumFrameLength
    self.receiveCapacity = receiveCapacity
    self.transmitCapacity = transmitCapacity
  }
}

/// A driver's counters since it (re)started.
public struct NetworkDeviceCounters: Equatable, BitwiseCopyable {
  public var receivedFrames: UInt64 = 0
  public var receivedBytes: UInt64 = 0
  public var sentFrames: UInt64 = 0
  public var sentBytes: UInt64 = 0
  /// Frames the device reported as bad, or the driver found malformed (a length past
  /// the buffer): dropped in the driver.
  public var receiveErrors: UInt64 = 0
  public var transmitErrors: UInt64 = 0
  public var interrupts: UInt64 = 0
  /// Times the driver reset its device (at start, and after the device misbehaved).
  public var resets: UInt64 = 0

  public init() {}
}

/// Errors: every method can return `.domainCrashed`, `.timedOut` or `.unavailable`
/// (the driver crashed, hung or is down).
///
/// Ownership of buffers (docs/NETWORK.md has the whole story):
/// - A buffer moved into `receive` or `transmit` belongs to the driver, and the device
///   may read or write it by DMA, until a later call hands it back. The driver hands
///   back every buffer it holds, in the order they finished, and never one the device
///   still uses.
/// - If the driver crashes or restarts, the buffers it held are gone (the kernel frees
///   them after stopping the device's DMA): the caller posts new ones.
public protocol NetworkDevice {
  /// The device's MAC address, link and sizes.
  ///
  /// - Idempotent: it only reads the device.
  func info() -> Result<NetworkDeviceInfo, RpcError>

  /// The driver's counters.
  ///
  /// - Idempotent: it only reads them.
  func counters() -> Result<NetworkDeviceCounters, RpcError>

  /// Takes the empty buffers in `buffers` for the device to receive into (as many as
  /// it has room for), and gives back, in the same deque, the frames received since
  /// the last call (status `.received`, oldest first), then the empty buffers it had
  /// no room for (status `.empty`). Never waits.
  func receive(_ buffers: consuming RRefDeque<PacketBuffer, 32>) -> Result<
    RRefDeque<PacketBuffer, 32>, RpcError
  >

  /// Hands the frames in `frames` to the device, in order, and gives back, in the same
  /// deque, the buffers the device has finished with: from this call or earlier ones,
  /// status `.sent`, or what went wrong (`.badLength`, `.deviceError`, `.noDevice`).
  /// A buffer the device still reads stays with the driver until a later call; one the
  /// device keeps longer than half a second (a transmit unit that stopped moving) comes
  /// back `.deviceError` once the driver has reset it, so no frame is held for ever. If
  /// the device has no room for a frame, it comes back at once, status `.empty`.
  func transmit(_ frames: consuming RRefDeque<PacketBuffer, 32>) -> Result<
    RRefDeque<PacketBuffer, 32>, RpcError
  >

  /// Waits until a frame is ready for `receive`, or `timeoutNanoseconds` have passed;
  /// says whether one is. Other calls into the driver go on while it waits.
  ///
  /// - Idempotent: it only waits.
  func waitForFrames(timeoutNanoseconds: UInt64) -> Result<Bool, RpcError>
}
