// The DatagramSockets interface: UDP sockets of the network stack, for other domains.
import Packets
import SwiftletLib

// `UDPSocket` (a socket: its slot and generation), `SocketError` (why a socket call was
// refused) and `DatagramSendFailure` (why a datagram was not sent) are defined in
// Packets, which the stack's core shares with this interface.

extension SocketError {
  /// The reason a DatagramSockets call was refused, from its error.
  public init?(_ error: RpcError) {
    guard case .failed(let code) = error, let reason = SocketError(rawValue: code) else {
      return nil
    }
    self = reason
  }

  /// The error a DatagramSockets call returns for this reason.
  public var rpcError: RpcError { .failed(code: rawValue) }
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
  /// `timeoutNanoseconds` have passed (2 s at most: the stack's time budget per call is
  /// 5 s), then gives back the deque holding the datagrams queued for it (up to 32,
  /// oldest first). Buffers the caller put in the deque go to the stack, to receive
  /// into. A socket queues at most 32 datagrams; it drops what arrives while its queue
  /// is full (and counts it), so a slow reader only loses its own datagrams.
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

  /// `send`, then `receive`, in one call: a server answering what it received gets the
  /// next datagrams back from the call that sends its answers, with one move of the
  /// deque each way where the two calls took two. The deque that comes back holds the
  /// datagrams the stack could not send first (status `.notSent`, as `send` gives them
  /// back), then those received (status `.received`); it waits for datagrams as
  /// `receive` does, but not if it has unsent ones to give back. Buffers that were
  /// sent stay with the stack, to receive into.
  func sendAndReceive(
    _ socket: UDPSocket, _ datagrams: consuming RRefDeque<PacketBuffer, 32>,
    timeoutNanoseconds: UInt64
  ) -> Result<RRefDeque<PacketBuffer, 32>, RpcError>
}
