/// The datagrams waiting for each socket, and the event that wakes its reader.
///
/// A socket's queue holds at most 32 datagrams (one deque); what arrives while it is
/// full is dropped and counted for that socket alone, so a slow reader loses only its
/// own datagrams. All queues together hold at most `totalLimit`, so that sockets
/// cannot take every buffer and starve the driver's receive ring.
import Packets
import SwiftletInterfaces
import SwiftletLib

final class SocketQueue {
  private let datagrams: PacketDeque
  /// What all queues hold together, kept as datagrams come and go (adding up every
  /// queue on each arrival cost 155 instructions a datagram).
  private let total: QueuedTotal
  /// Signalled when datagrams arrive and when the socket closes.
  let event: DomainEvent
  /// Datagrams dropped because the queue was full.
  var dropped: UInt64 = 0
  /// Datagrams arrived since the reader was last woken.
  var unsignalled = false

  init?(event: DomainEvent, total: QueuedTotal) {
    guard let datagrams = PacketDeque() else { return nil }
    self.datagrams = datagrams
    self.total = total
    self.event = event
  }

  var isEmpty: Bool { datagrams.isEmpty }
  var isFull: Bool { datagrams.isFull }

  /// Queues `buffer`, or hands it back if the queue is full.
  func push(_ buffer: consuming RRef<PacketBuffer>) -> RRef<PacketBuffer>? {
    if let refused = datagrams.pushBack(buffer) { return refused }
    total.count += 1
    return nil
  }

  func pop() -> RRef<PacketBuffer>? {
    guard let buffer = datagrams.popFront() else { return nil }
    total.count -= 1
    return buffer
  }

  /// Gives every queued datagram back to `pool` (the socket closed, or its slot is reused).
  func drain(into pool: BufferPool) {
    while let buffer = pop() { pool.put(buffer) }
  }
}

/// The number of datagrams in all socket queues together.
final class QueuedTotal {
  var count = 0
}

final class SocketQueues {
  /// One per socket slot of the stack core; events 0 ..< 16 are theirs.
  private let queues: [SocketQueue]
  private let total = QueuedTotal()
  static let totalLimit = 64

  init() {
    var queues: [SocketQueue] = []
    for slot in 0..<16 {
      guard let event = DomainEvent(number: slot),
        let queue = SocketQueue(event: event, total: total)
      else {
        break
      }
      queues.append(queue)
    }
    self.queues = queues
  }

  func queue(_ socket: UDPSocket) -> SocketQueue? {
    let slot = Int(socket.slot)
    return slot < queues.count ? queues[slot] : nil
  }

  var totalQueued: Int { total.count }

  /// Wakes the readers of every queue that got datagrams since the last call: one
  /// kernel call per socket per batch, not per datagram.
  func signalArrivals() {
    for queue in queues where queue.unsignalled {
      queue.unsignalled = false
      queue.event.signal()
    }
  }
}
