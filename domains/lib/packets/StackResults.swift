/// What the stack core tells its caller: what to do with a received frame, whether a
/// frame it was asked to build can go, what changed, and what it counted.

/// What to do with a frame after `NetworkStack.input`.
public enum InputAction: Equatable {
  /// Dropped and counted; the buffer is free again.
  case drop(DropReason)
  /// The frame was rewritten in place into the answer (an ARP reply, an echo reply):
  /// send the same buffer, `length` bytes.
  case reply(length: Int)
  /// A UDP datagram for an open socket; its payload is at `udpPayloadOffset`.
  case deliver(Delivery)
  /// Taken in by the stack itself (an ARP or DHCP reply, a ping's answer); the buffer
  /// is free again.
  case consumed
}

/// A received datagram for a socket.
public struct Delivery: Equatable {
  public var socket: UDPSocket
  public var remote: IPv4Endpoint
  public var localPort: UInt16
  public var payloadLength: Int

  public init(socket: UDPSocket, remote: IPv4Endpoint, localPort: UInt16, payloadLength: Int) {
    self.socket = socket
    self.remote = remote
    self.localPort = localPort
    self.payloadLength = payloadLength
  }
}

/// Whether a frame the stack was asked to build can be sent.
public enum Transmission: Equatable {
  /// Built: send `length` bytes of the buffer.
  case send(length: Int)
  /// The next hop's MAC address is being asked for: keep the buffer and ask again
  /// after the next frames come in or a little later (`NetworkStack.poll` sends the
  /// ARP requests).
  case resolving
  case failed(DatagramSendFailure)
}

/// Why a datagram was not sent: in DatagramSockets, a buffer given back `.notSent`
/// carries it in `datagram.localPort`.
public enum DatagramSendFailure: UInt16, Error, Equatable, Sendable, BitwiseCopyable {
  /// The payload is longer than `NetworkStack.udpPayloadCapacity`.
  case tooLong = 1
  /// The stack has no address yet (DHCP has not answered), or no device.
  case noNetwork = 2
  /// No route to the address (or port 0), or its MAC address did not resolve.
  case unreachable = 3
  /// The stack's queue of datagrams waiting for an address to resolve is full.
  case queueFull = 4
}

/// Something the stack's owner should hear about (and log).
public enum StackEvent: Equatable {
  /// An address is configured, or it changed.
  case configured(InterfaceAddress)
  /// DHCP got no answer to `DHCPClient.silentDiscoversReported` DISCOVERs; it keeps asking.
  case dhcpSilent
  /// The DHCP lease ran out or the server refused it: no address until DHCP gets one.
  case addressLost
}

/// Frames and bytes each way, and drops by reason.
public struct StackCounters {
  public var receivedFrames: UInt64 = 0
  public var receivedBytes: UInt64 = 0
  public var sentFrames: UInt64 = 0
  public var sentBytes: UInt64 = 0
  /// By `DropReason.rawValue`.
  public var drops = InlineArray<32, UInt64>(repeating: 0)

  public init() {}

  public subscript(reason: DropReason) -> UInt64 { drops.span[reason.rawValue] }

  public var totalDrops: UInt64 {
    var total: UInt64 = 0
    let table = drops.span
    for index in table.indices { total &+= table[index] }
    return total
  }
}

/// Events waiting for the owner, oldest first; when full, the oldest gives way.
struct EventQueue {
  private var events = InlineArray<8, StackEvent?>(repeating: nil)
  private var first = 0
  private var count = 0

  @inline(__always)
  mutating func append(_ event: StackEvent) {
    if count == events.count {
      first = (first + 1) % events.count
      count -= 1
    }
    events[(first + count) % events.count] = event
    count += 1
  }

  @inline(__always)
  mutating func takeFirst() -> StackEvent? {
    guard count > 0 else { return nil }
    let event = events.span[first]
    events[first] = nil
    first = (first + 1) % events.count
    count -= 1
    return event
  }
}
