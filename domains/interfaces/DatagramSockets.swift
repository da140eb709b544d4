// The DatagramSockets interface: UDP sockets of the network stack, for other domains.
import Packets
import SwiftletLib

/// A socket the stack opened for this caller: a slot and the generation it was opened
/// in, so that a closed socket's number (or one from before the stack restarted) is
/// refused, never mistaken for a newer socket.
public struct UDPSocket: Equatable, BitwiseCopyable {
  public var slot: UInt16
  public var generation: UInt32

  public init(slot: UInt16, generation: UInt32) {
    self.slot = slot
    self.generation = generation
  }
}

/// Why the stack refused a socket call: the code of `RpcError.failed(code:)`.
public enum SocketError: Int32, Equatable, BitwiseCopyable {
  /// Another socket is bound to the port.
  case portInUse = 1
  /// The stack has no room for another socket.
  case noRoom = 2
  /// No such socket: closed, never opened, or opened before the stack restarted.
  /// Open a new one.
  case badSocket = 3
  /// Port 0 (the stack does not pick ports).
  case badPort = 4

  public init?(_ error: RpcError) {
    guard case .failed(let code) = error, let reason = SocketError(rawValue: code) else {
      return nil
    }
    self = reason
  }
}

/// Why the stack did not send a datagram (`PacketBuffer.status` is `.notSent` and
/// `DatagramInfo.localPort` carries one of these codes).
public enum DatagramSendFailure: UInt16, Equatable, BitwiseCopyable {
  /// The payload is longer than `PacketBuffer.udpPayloadCapacity`.
  case tooLong = 1
  /// The stack has no address yet (DHCP has not answered), or no device.
  case noNetwork = 2
  /// The destination's (or gateway's) MAC address did not resolve.
  case unreachable = 3
  /// The stack's queue of datagrams waiting for an address to resolve is full.
  case queueFull = 4
}

/// Errors: every method can return `.domainCrashed`, `.timedOut` or `.unavailable`, and
/// `.failed(code:)` with a `SocketError` code when the stack refuses the socket call.
///
/// Ownership: datagrams travel in `PacketBuffer`s, the payload at
/// `PacketBuffer.udpPayloadOffset` of the frame and `datagram` saying from or to where.
/// Buffers moved into `receive` or `send` are the stack's; those it gives back are the
/// caller's. A refused call frees what was moved into it. If the stack crashes, what
/// it held is gone.
public protocol DatagramSockets {
  /// Opens a socket bound to local UDP `port` (not 0).
  func open(port: UInt16) -> Result<UDPSocket, RpcError>

  /// Closes the socket and drops the datagrams queued for it.
  func close(_ socket: UDPSocket) -> Result<Void, RpcError>

  /// Waits until at least one datagram has arrived for the socket, or
  /// `timeoutNanoseconds` have passed, then gives back the deque holding the datagrams
  /// queued for it (up to 32, oldest first). Buffers the caller put in the deque go to
  /// the stack, to receive into. A socket queues at most 32 datagrams; it drops what
  /// arrives while its queue is full (and counts it), so a slow reader only loses its
  /// own datagrams.
  func receive(
    _ socket: UDPSocket, into buffers: consuming RRefDeque<PacketBuffer, 32>,
    timeoutNanoseconds: UInt64
  ) -> Result<RRefDeque<PacketBuffer, 32>, RpcError>

  /// Sends each buffer's datagram (its payload and `datagram.remote`) from the socket's
  /// port, and gives back the deque holding the buffers it did not send: status
  /// `.notSent`, with the reason (`DatagramSendFailure`) in `datagram.localPort`.
  func send(_ socket: UDPSocket, _ datagrams: consuming RRefDeque<PacketBuffer, 32>) -> Result<
    RRefDeque<PacketBuffer, 32>, RpcError
  >
}
