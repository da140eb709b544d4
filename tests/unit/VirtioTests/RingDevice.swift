/// The device's side of a lone virtqueue, for the ring tests: it reads the available
/// ring and descriptor chains the driver wrote and writes used entries, straight into the
/// queue's memory.
import Registers
import Virtio

struct RingDevice {
  let memory: ArrayDMAMemory
  let layout: VirtQueueLayout
  var nextAvailable: UInt16 = 0
  var nextUsed: UInt16 = 0

  init(_ queue: VirtQueue<ArrayDMAMemory>) {
    memory = queue.memory
    layout = queue.layout
  }

  struct Descriptor: Equatable {
    let address: UInt64
    let length: UInt32
    let flags: UInt16
    let next: UInt16
  }

  func descriptor(_ index: UInt16) -> Descriptor {
    let at = 16 * Int(index)
    return Descriptor(
      address: memory.load64(at: at), length: memory.load32(at: at + 8),
      flags: memory.load16(at: at + 12), next: memory.load16(at: at + 14))
  }

  /// The descriptors of the chain starting at `head`.
  func chain(_ head: UInt16) -> [Descriptor] {
    var chain = [descriptor(head)]
    while chain.last!.flags & 1 != 0 && chain.count <= layout.size {
      chain.append(descriptor(chain.last!.next))
    }
    return chain
  }

  var publishedIndex: UInt16 { memory.load16(at: layout.availableRing + 2) }
  var availableFlags: UInt16 { memory.load16(at: layout.availableRing) }

  /// Heads the driver has published and the device has not taken yet, taking them.
  mutating func takeAvailable() -> [UInt16] {
    var heads: [UInt16] = []
    while nextAvailable != publishedIndex {
      let slot = Int(nextAvailable) & (layout.size - 1)
      heads.append(memory.load16(at: layout.availableRing + 4 + 2 * slot))
      nextAvailable &+= 1
    }
    return heads
  }

  /// Writes a used entry and publishes it (or, with `publish: false`, leaves the index).
  mutating func use(_ id: UInt32, length: UInt32 = 0, publish: Bool = true) {
    let slot = Int(nextUsed) & (layout.size - 1)
    memory.store32(id, at: layout.usedRing + 4 + 8 * slot)
    memory.store32(length, at: layout.usedRing + 8 + 8 * slot)
    nextUsed &+= 1
    if publish { publishUsed() }
  }

  func publishUsed() { memory.store16(nextUsed, at: layout.usedRing + 2) }

  /// Moves the used index by itself, as a broken device might.
  mutating func setUsedIndex(_ index: UInt16) {
    nextUsed = index
    publishUsed()
  }

  func setNoNotify(_ on: Bool) { memory.store16(on ? 1 : 0, at: layout.usedRing) }
}
