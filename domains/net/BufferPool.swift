/// Empty packet buffers the stack keeps for posting to the driver and building frames
/// into, and the one way frames are read and written in place.
///
/// The buffers sit in shared-heap deques (a Swift array cannot hold RRefs), each kept
/// by a class whose property is a `let`, so that using one opens no dynamic access:
/// the deque's own methods call the kernel, which no open access may span.
import SwiftletInterfaces
import SwiftletLib

typealias PacketDeque = RRefDeque<PacketBuffer, 32>

/// A deque the domain keeps, for as long as the object lives.
final class HeldDeque {
  let deque: PacketDeque

  init?() {
    guard let deque = PacketDeque() else { return nil }
    self.deque = deque
  }
}

final class BufferPool {
  /// At most this many free buffers are kept; more are freed. The stack's whole share
  /// of the shared heap is bounded by its quota (`sharedHeapKiB`) besides.
  static let dequeCount = 4
  private let deques: [HeldDeque]

  init() {
    var deques: [HeldDeque] = []
    for _ in 0..<Self.dequeCount {
      if let held = HeldDeque() { deques.append(held) }
    }
    self.deques = deques
  }

  var count: Int {
    var total = 0
    for held in deques { total += held.deque.count }
    return total
  }

  /// A free buffer: one kept, else a new one; nil once the shared heap (or the quota)
  /// has none left.
  func take() -> RRef<PacketBuffer>? {
    for held in deques {
      if let buffer = held.deque.popFront() { return buffer }
    }
    return RRef(PacketBuffer())
  }

  /// Keeps `buffer` for later, or frees it if the pool is full.
  func put(_ buffer: consuming RRef<PacketBuffer>) {
    var spare = Optional(buffer)
    for held in deques {
      guard let next = spare.take() else { return }
      spare = held.deque.pushBack(next)
    }
  }

  /// Moves every buffer of `deque` into the pool.
  func putAll(from deque: borrowing PacketDeque) {
    while let buffer = deque.popFront() { put(buffer) }
  }
}

extension RRef where T == PacketBuffer {
  /// Runs `body` on the buffer's frame in place, as the span the stack core takes, with
  /// the frame's length.
  func withFrame<Result>(_ body: (inout MutableSpan<UInt8>, Int) -> Result) -> Result {
    update { packet in
      let length = Int(packet.length)
      var frame = packet.frame.mutableSpan
      return body(&frame, length)
    }
  }

  var status: PacketStatus { read { $0.status } }
  var length: Int { read { Int($0.length) } }

  /// Sets what the buffer says about itself, without touching its frame.
  func mark(_ status: PacketStatus, length: Int) {
    update { packet in
      packet.status = status
      packet.length = UInt16(clamping: length)
    }
  }
}
