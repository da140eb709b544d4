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
  let deque: PacketDeque
  /// Signalled when datagrams arrive and when the socket closes.
  let event: DomainEvent
  /// Datagrams dropped because the queue was full.
  var dropped: UInt64 = 0
  /// Datagrams arrived since the reader was last woken.
  var unsignalled = false

  init?(event: DomainEvent) {
    guard let deque = PacketDeque() else { return nil }
    self.deque = deque
    self.event = event
  }
}

final class SocketQueues {
  /// One per socket slot of the stack core; events 0 ..< 16 are theirs.
  private let queues: [SocketQueue]
  static let totalLimit = 64

  init() {
    var queues: [SocketQueue] = []
    for slot in 0..<16 {
      guard let event = DomainEvent(number: slot), let queue = SocketQueue(event: event) else {
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

  var totalQueued: Int {
    var total = 0
    for queue in queues { total += queue.deque.count }
    return total
  }

  /// Wakes the readers of every queue that got datagrams since the last call: one
  /// kernel call per socket per batch, not per datagram.
  func signalArrivals() {
    for queue in queues where queue.unsignalled {
      queue.unsignalled = false
      queue.event.signal()
    }
  }
}
