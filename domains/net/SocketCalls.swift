/// DatagramSockets: UDP sockets for other domains, over the stack core's socket table
/// and the queues the receive thread fills.
import Packets
import SwiftletInterfaces
import SwiftletLib

extension NetworkStackService {
  func open(port: UInt16) -> Result<UDPSocket, RpcError> {
    // The caller is remembered as the socket's owner: if it crashes, its restarted self
    // (or anyone) may bind the port again.
    switch stack.openSocket(port: port, owner: DomainIdentity.caller.rawValue, isAlive: {
      DomainIdentity(rawValue: $0).isAlive
    }) {
    case .success(let socket):
      // A slot's queue may still hold datagrams of the socket that had it before.
      sockets.queue(socket)?.drain(into: pool)
      return .success(socket)
    case .failure(let reason):
      return .failure(reason.rpcError)
    }
  }

  func close(_ socket: UDPSocket) -> Result<Void, RpcError> {
    guard stack.closeSocket(socket) else { return .failure(SocketError.badSocket.rpcError) }
    if let queue = sockets.queue(socket) {
      queue.drain(into: pool)
      queue.event.signal()  // a reader waiting on it finds it closed
    }
    return .success(())
  }

  func receive(
    _ socket: UDPSocket, into buffers: consuming PacketDeque, timeoutNanoseconds: UInt64
  ) -> Result<PacketDeque, RpcError> {
    guard stack.port(of: socket) != nil, let queue = sockets.queue(socket) else {
      return .failure(SocketError.badSocket.rpcError)
    }
    // The caller's empty buffers are the stack's to receive into from now on.
    pool.putAll(from: buffers)
    return awaitDatagrams(on: socket, queue, into: buffers, timeoutNanoseconds: timeoutNanoseconds)
  }

  func sendAndReceive(
    _ socket: UDPSocket, _ datagrams: consuming PacketDeque, timeoutNanoseconds: UInt64
  ) -> Result<PacketDeque, RpcError> {
    guard let queue = sockets.queue(socket) else { return .failure(SocketError.badSocket.rpcError) }
    switch send(socket, datagrams) {
    case .failure(let error):
      return .failure(error)
    case .success(let back):
      // Only the unsent go back to the caller; the rest are the stack's to receive into.
      for _ in 0..<back.count {
        guard let buffer = back.popFront() else { break }
        guard buffer.status == .notSent else {
          pool.put(buffer)
          continue
        }
        if let refused = back.pushBack(buffer) { pool.put(refused) }
      }
      return awaitDatagrams(on: socket, queue, into: back, timeoutNanoseconds: timeoutNanoseconds)
    }
  }

  /// Waits until the socket's queue holds datagrams (unless `buffers` already holds
  /// something to give back) or the timeout passes, then moves them into `buffers`.
  private func awaitDatagrams(
    on socket: UDPSocket, _ queue: SocketQueue, into buffers: consuming PacketDeque,
    timeoutNanoseconds: UInt64
  ) -> Result<PacketDeque, RpcError> {
    let start = DomainKernel.nanoseconds
    let deadline = start &+ min(timeoutNanoseconds, Self.longestWait)
    var seen = queue.event.count
    while queue.isEmpty && buffers.isEmpty {
      let now = DomainKernel.nanoseconds
      guard now < deadline else { return .success(buffers) }
      seen = queue.event.wait(after: seen, timeoutNanoseconds: deadline - now)
      guard stack.port(of: socket) != nil else { return .failure(SocketError.badSocket.rpcError) }
    }
    FaultInjection.checkpoint(.socketDelivery)  // holding the caller's buffers
    while !buffers.isFull, let datagram = queue.pop() {
      if let refused = buffers.pushBack(datagram) {
        pool.put(refused)  // cannot happen: the deque had room
        break
      }
    }
    return .success(buffers)
  }

  func send(_ socket: UDPSocket, _ datagrams: consuming PacketDeque) -> Result<
    PacketDeque, RpcError
  > {
    guard let port = stack.port(of: socket) else { return .failure(SocketError.badSocket.rpcError) }
    let now = DomainKernel.nanoseconds
    // Every buffer is taken out once: those that can go are put back at the end (the
    // deque then holds exactly them, in order), the others wait or come back unsent.
    var unsent: PacketDeque?
    for _ in 0..<datagrams.count {
      guard let buffer = datagrams.popFront() else { break }
      guard let refused = route(buffer, from: port, into: datagrams, now: now) else { continue }
      if unsent == nil { unsent = PacketDeque() }
      if let lost = unsent?.pushBack(refused) { pool.put(lost) }
    }
    // A datagram that waits for ARP: the request goes out now, not at the thread's turn.
    runTimers()
    var finished = transmit(datagrams)
    if finished == nil { finished = PacketDeque() }
    guard let finished else { return .failure(.unavailable) }
    if let unsent {
      while let buffer = unsent.popFront() {
        if let lost = finished.pushBack(buffer) { pool.put(lost) }
      }
    }
    return .success(finished)
  }
}
