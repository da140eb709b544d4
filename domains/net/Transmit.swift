/// Frames going out: to the driver in batches, what it is done with back to the pool,
/// what it had no room for kept for the next batch; and the frames the stack's timers
/// and its wait for ARP send.
import Packets
import SwiftletInterfaces
import SwiftletLib

extension NetworkStackService {
  /// Hands `frames` (each with its length set) to the driver, with any it had no room
  /// for before; returns the deque, emptied, for reuse. Buffers the driver gives back
  /// go to the pool, sent ones counted. Nil if the driver call failed: the frames are
  /// gone with the driver, and the link is marked broken.
  func transmit(_ frames: consuming PacketDeque) -> PacketDeque? {
    if let backlog = link.backlog {
      while !frames.isFull, let waiting = backlog.deque.popFront() {
        if let refused = frames.pushBack(waiting) { pool.put(refused) }
      }
    }
    guard !frames.isEmpty else { return frames }
    guard let driver = link.proxy, !link.isBroken else {
      pool.putAll(from: frames)
      return frames
    }
    switch driver.transmit(frames) {
    case .success(let finished):
      while let buffer = finished.popFront() {
        let status = buffer.status
        switch status {
        case .sent:
          stack.countSent(length: buffer.length)
          pool.put(buffer)
        case .empty:
          // No room in the device: it goes with the next batch.
          if let refused = link.backlog?.deque.pushBack(buffer) { pool.put(refused) }
        default:
          pool.put(buffer)
        }
      }
      return finished
    case .failure(let error):
      link.failed(error)
      return nil
    }
  }

  /// Sends one frame (a ping), in a deque of its own.
  func transmit(_ frame: consuming RRef<PacketBuffer>) {
    guard let batch = PacketDeque() else {
      pool.put(frame)
      return
    }
    if let refused = batch.pushBack(frame) { pool.put(refused) }
    _ = transmit(batch)
  }

  /// Builds what the timers have due (DHCP messages, ARP requests) into `batch`.
  func addTimerFrames(to batch: borrowing PacketDeque) {
    let now = DomainKernel.nanoseconds
    guard now >= stack.nextDeadline() else { return }
    while !batch.isFull, let buffer = pool.take() {
      guard let length = buffer.withFrame({ frame, _ in stack.poll(&frame, now: now) }) else {
        pool.put(buffer)
        return
      }
      buffer.mark(.empty, length: length)
      if let refused = batch.pushBack(buffer) { pool.put(refused) }
    }
  }

  /// Sends what the timers have due now (from a call, which cannot wait for the thread).
  func runTimers() {
    guard DomainKernel.nanoseconds >= stack.nextDeadline(), let batch = PacketDeque() else {
      return
    }
    addTimerFrames(to: batch)
    _ = transmit(batch)
  }

  /// Builds the datagram in `buffer` (its payload and `datagram` set) from `port`:
  /// into `batch` if it can go, into `awaitingResolution` while its next hop's MAC
  /// address is asked for. Otherwise gives the buffer back, marked `.notSent` with the
  /// reason in `datagram.localPort`.
  func route(
    _ buffer: consuming RRef<PacketBuffer>, from port: UInt16, into batch: borrowing PacketDeque,
    now: UInt64
  ) -> RRef<PacketBuffer>? {
    let datagram = buffer.read { $0.datagram }
    let outcome = buffer.withFrame { frame, _ in
      stack.writeDatagram(
        &frame, from: port, to: datagram.remote, payloadLength: Int(datagram.payloadLength),
        now: now)
    }
    var refused: RRef<PacketBuffer>?
    var reason = DatagramSendFailure.queueFull
    switch outcome {
    case .send(let length):
      buffer.mark(.empty, length: length)
      refused = batch.pushBack(buffer)
    case .resolving:
      buffer.update { $0.datagram.localPort = port }
      if let waiting = awaitingResolution {
        refused = waiting.deque.pushBack(buffer)
      } else {
        refused = consume buffer
      }
    case .failed(let failure):
      reason = failure
      refused = consume buffer
    }
    guard let unsent = refused.take() else { return nil }
    unsent.update { packet in
      packet.status = .notSent
      packet.datagram.localPort = reason.rawValue
    }
    return unsent
  }

  /// Tries again the datagrams waiting for ARP: those resolved go into `batch`, those
  /// that cannot be sent are dropped (their sender has its answer already).
  func retryAwaitingResolution(into batch: borrowing PacketDeque) {
    guard let waiting = awaitingResolution, !waiting.deque.isEmpty else { return }
    let now = DomainKernel.nanoseconds
    for _ in 0..<waiting.deque.count {
      guard !batch.isFull, let buffer = waiting.deque.popFront() else { return }
      let port = buffer.read { $0.datagram.localPort }
      if let dropped = route(buffer, from: port, into: batch, now: now) { pool.put(dropped) }
    }
  }
}
