/// The packet buffers the device holds, each under the id its descriptor has: where the
/// driver finds a buffer again when the device gives the id back.
import SwiftletInterfaces
import SwiftletLib

/// One buffer's place. Each is an object of its own, so that taking a buffer out or
/// putting one in changes the object and never the array holding it (docs/EXCLUSIVITY.md).
final class PacketSlot {
  /// Spelled out, not `RRef<PacketBuffer>?`: that would start as nil before `init`, and
  /// its first assignment would then drop a value inside the access.
  var buffer: Optional<RRef<PacketBuffer>>

  init() { buffer = nil }

  init(holding buffer: consuming RRef<PacketBuffer>) { self.buffer = consume buffer }
}

struct PacketSlots {
  let slots: [PacketSlot]

  init(count: Int) { slots = (0..<count).map { _ in PacketSlot() } }

  /// Keeps `buffer` under `id`, which the virtio library just gave it (so the slot is
  /// empty).
  func put(_ buffer: consuming RRef<PacketBuffer>, at id: UInt16) {
    var incoming: RRef<PacketBuffer>? = consume buffer
    swap(&slots[Int(id)].buffer, &incoming)
  }

  /// The buffer under `id`, taken out; nil if there is none (the library checked the id
  /// against what the device holds, so there always is one).
  func take(_ id: UInt16) -> RRef<PacketBuffer>? {
    guard Int(id) < slots.count else { return nil }
    return slots[Int(id)].buffer.take()
  }
}
