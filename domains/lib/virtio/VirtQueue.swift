/// A split virtqueue, the driver's side: descriptor chains out through the available
/// ring, completions back through the used ring, in DMA memory the device reads.
///
/// The driver's bookkeeping (free descriptors, what is at the device, how much a chain
/// may take) is kept in private arrays, never read back from the shared memory: the
/// device can write that memory, and nothing it writes there may change what the driver
/// believes. Everything the device reports is checked against that bookkeeping, and a
/// device that breaks the protocol gets an error, never a trap; the queue then stays
/// failed until the device is reset and the queue made anew.
///
/// A chain the device gives back keeps its descriptors, and so its id, until the driver
/// `release`s it: until the driver has taken what it needs from the request (its status)
/// no other request can get that id, so a completion always names the request it is
/// for. Freed descriptors go to the back of the free list, so an id is reused as late as
/// possible, and a device that gives one back twice most likely names one not at the
/// device (an error) rather than a newer request that took its place.
///
/// Adding a chain does not show it to the device; `publish` shows everything added
/// since the last one with a single index write, so a batch costs one fence and one
/// notification.
import Registers

public final class VirtQueue<Memory: DMAMemory> {
  public let layout: VirtQueueLayout
  public let memory: Memory
  /// Where the descriptor table starts in `memory`.
  public let offset: Int

  /// Free descriptors, linked through `nextFree` from `freeHead` to `freeTail`; a chain
  /// takes them in list order, so the links also give each chain's descriptors in order.
  private var nextFree: [UInt16]
  private var freeHead: UInt16 = 0
  private var freeTail: UInt16
  public private(set) var freeCount: Int
  /// Per descriptor: how many descriptors the chain it heads has; 0 if it heads none.
  private var chainLength: [UInt16]
  /// Per chain head: whether the device holds the chain (added and not yet used).
  private var atDevice: [Bool]
  /// Per chain head: the bytes the device may write.
  private var writableBytes: [UInt32]
  /// Chains the device holds: added, and not yet in the used ring.
  public private(set) var chainsInFlight = 0
  /// Free-running indices: the next available-ring slot to fill, the last index
  /// published, and the next used-ring slot to read.
  private var availableIndex: UInt16 = 0
  private var publishedIndex: UInt16 = 0
  private var usedIndex: UInt16 = 0
  /// Set when the device broke the protocol: every later call reports it.
  public private(set) var failure: VirtQueueError.DeviceMisbehaviour?

  /// A queue of `size` entries whose rings start at `offset` in `memory`, which it
  /// zeroes. The memory must hold `VirtQueueLayout(size:).byteCount` bytes there, at a
  /// 16-byte aligned device address.
  public init(size: Int, memory: Memory, offset: Int = 0) throws(VirtQueueError) {
    guard let layout = VirtQueueLayout(size: size) else { throw .invalidSize(size) }
    let available = max(0, memory.byteCount - max(0, offset))
    guard let rings = memory.dmaRegion.subregion(at: offset, count: layout.byteCount),
      rings.address % 16 == 0
    else { throw .memoryUnusable(needed: layout.byteCount, available: available) }
    self.layout = layout
    self.memory = memory
    self.offset = offset
    nextFree = (0..<size).map { UInt16(truncatingIfNeeded: $0 + 1) }
    freeTail = UInt16(size - 1)
    freeCount = size
    chainLength = [UInt16](repeating: 0, count: size)
    atDevice = [Bool](repeating: false, count: size)
    writableBytes = [UInt32](repeating: 0, count: size)
    for position in stride(from: 0, to: layout.byteCount, by: 2) {
      memory.store16(0, at: offset + position)
    }
  }

  public var size: Int { layout.size }

  /// The id the next `add` will return, or nil if no descriptor is free: lets a driver
  /// put per-request data (a header, a status byte) in a slot indexed by the id before
  /// adding the chain that points at it.
  public var nextID: UInt16? { freeCount > 0 ? freeHead : nil }

  /// Where the device finds the three parts, for the transport's queue registers.
  public var descriptorTableRegion: DMARegion {
    memory.dmaRegion(at: offset + layout.descriptorTable, count: layout.availableRing)
  }
  public var availableRingRegion: DMARegion {
    memory.dmaRegion(at: offset + layout.availableRing, count: 6 + 2 * size)
  }
  public var usedRingRegion: DMARegion {
    memory.dmaRegion(at: offset + layout.usedRing, count: 6 + 8 * size)
  }

  /// Asks the device not to interrupt when it uses buffers (a hint it may ignore), for a
  /// driver that polls.
  public var suppressesInterrupts = false {
    didSet {
      let flags = suppressesInterrupts ? RingFlags.availableNoInterrupt : 0
      memory.store16(flags, at: offset + layout.availableRing + VirtQueueLayout.ringFlags)
    }
  }

  /// Adds a chain of buffers, device-readable ones first, and returns its id (the
  /// index of its first descriptor), which `nextUsed` gives back when the device is
  /// done with it. The device sees the chain after the next `publish`.
  @discardableResult
  public func add<Buffers: Collection<VirtQueueBuffer>>(_ buffers: Buffers) throws(VirtQueueError)
    -> UInt16
  {
    if let failure { throw .deviceMisbehaved(failure) }
    let count = buffers.count
    guard count > 0 else { throw .emptyChain }
    guard count <= freeCount else { throw .full(needed: count, free: freeCount) }
    var writable: UInt64 = 0
    var seenWritable = false
    for buffer in buffers {
      guard buffer.region.byteCount <= UInt32.max else { throw .chainTooLong }
      if buffer.deviceWritable {
        seenWritable = true
        writable += UInt64(buffer.region.byteCount)
      } else if seenWritable {
        throw .readableAfterWritable
      }
    }
    guard writable <= UInt64(UInt32.max) else { throw .chainTooLong }

    let head = freeHead
    var descriptor = head
    for (position, buffer) in buffers.enumerated() {
      let isLast = position == count - 1
      writeDescriptor(descriptor, buffer, next: isLast ? nil : nextFree[Int(descriptor)])
      if !isLast { descriptor = nextFree[Int(descriptor)] }
    }
    freeHead = nextFree[Int(descriptor)]
    freeCount -= count
    chainLength[Int(head)] = UInt16(count)
    atDevice[Int(head)] = true
    writableBytes[Int(head)] = UInt32(writable)
    chainsInFlight += 1

    let slot = Int(availableIndex) & (size - 1)
    memory.store16(head, at: offset + layout.availableRing + VirtQueueLayout.ringEntries + 2 * slot)
    availableIndex &+= 1
    return head
  }

  private func writeDescriptor(_ index: UInt16, _ buffer: VirtQueueBuffer, next: UInt16?) {
    let at = offset + layout.descriptorTable + VirtQueueLayout.descriptorBytes * Int(index)
    var flags: UInt16 = buffer.deviceWritable ? DescriptorFlags.deviceWritable : 0
    if next != nil { flags |= DescriptorFlags.next }
    memory.store64(buffer.region.address, at: at)
    // `add` checked that the length fits.
    memory.store32(UInt32(truncatingIfNeeded: buffer.region.byteCount), at: at + 8)
    memory.store16(flags, at: at + 12)
    memory.store16(next ?? 0, at: at + 14)
  }

  /// Shows the device every chain added since the last call. Returns whether the
  /// device should be notified: something new was published and the device has not
  /// asked to be left alone.
  public func publish() -> Bool {
    guard availableIndex != publishedIndex else { return false }
    // The chains and ring entries must be visible before the index that covers them,
    // and the index before the device's flags are read.
    memory.fence()
    memory.store16(availableIndex, at: offset + layout.availableRing + VirtQueueLayout.ringIndex)
    publishedIndex = availableIndex
    memory.fence()
    let deviceFlags = memory.load16(at: offset + layout.usedRing + VirtQueueLayout.ringFlags)
    return deviceFlags & RingFlags.usedNoNotify == 0
  }

  /// Whether the device has put a chain in the used ring that `nextUsed` has not taken:
  /// one load, for a driver deciding whether to wait. A queue that failed has none.
  public var hasUsed: Bool {
    failure == nil
      && memory.load16(at: offset + layout.usedRing + VirtQueueLayout.ringIndex) != usedIndex
  }

  /// The next chain the device has finished with, or nil if there is none yet. The
  /// chain keeps its descriptors and id until `release`. Throws if the device broke the
  /// protocol, now or before.
  public func nextUsed() throws(VirtQueueError) -> UsedChain? {
    if let failure { throw .deviceMisbehaved(failure) }
    let deviceIndex = memory.load16(at: offset + layout.usedRing + VirtQueueLayout.ringIndex)
    guard deviceIndex != usedIndex else { return nil }
    // The entries the index covers are read after it.
    memory.fence()
    let advance = deviceIndex &- usedIndex
    guard Int(advance) <= chainsInFlight else {
      try fail(.usedIndexTooFar(advance: advance, inFlight: chainsInFlight))
    }
    let at = nextUsedEntry
    let id = memory.load32(at: at)
    let length = memory.load32(at: at + 4)
    guard id < UInt32(size) else { try fail(.usedIDOutOfRange(id)) }
    let head = UInt16(id)
    guard atDevice[Int(head)] else { try fail(.usedIDNotInFlight(head)) }
    guard length <= writableBytes[Int(head)] else {
      try fail(
        .usedLengthTooLong(id: head, length: length, writable: writableBytes[Int(head)]))
    }
    usedIndex &+= 1
    atDevice[Int(head)] = false
    chainsInFlight -= 1
    return UsedChain(id: head, length: length)
  }

  /// Where in `memory` the next used entry to read lies.
  private var nextUsedEntry: Int {
    let slot = Int(usedIndex) & (size - 1)
    return offset + layout.usedRing + VirtQueueLayout.ringEntries
      + VirtQueueLayout.usedElementBytes * slot
  }

  /// Acts out a device that wrote a bogus id (one past the table; at an even used index)
  /// or a bogus length (4 GiB less one; at an odd one) into the next used entry, for
  /// fault injection: the entry is overwritten in the ring, where `nextUsed` reads and
  /// refuses it exactly as it would the device's own. Does nothing unless the device has
  /// put an entry there (which it does not write again before the driver has taken it).
  public func corruptNextUsed() {
    guard hasUsed else { return }
    memory.fence()
    if usedIndex & 1 == 0 {
      memory.store32(UInt32(size), at: nextUsedEntry)
    } else {
      memory.store32(UInt32.max, at: nextUsedEntry + 4)
    }
  }

  /// Frees the descriptors of chain `id`, which `nextUsed` returned: they go to the back
  /// of the free list. Stops the domain if the device still holds the chain or it heads
  /// none (the driver's own mistake, never the device's).
  public func release(_ id: UInt16) {
    let head = Int(id)
    precondition(
      head < size && chainLength[head] > 0 && !atDevice[head],
      "virtqueue: releasing a chain that is not back from the device")
    var last = id
    for _ in 1..<Int(chainLength[head]) { last = nextFree[Int(last)] }
    if freeCount == 0 { freeHead = id } else { nextFree[Int(freeTail)] = id }
    freeTail = last
    freeCount += Int(chainLength[head])
    chainLength[head] = 0
    writableBytes[head] = 0
  }

  private func fail(_ misbehaviour: VirtQueueError.DeviceMisbehaviour) throws(VirtQueueError)
    -> Never
  {
    failure = misbehaviour
    throw .deviceMisbehaved(misbehaviour)
  }
}

/// One buffer of a chain: the region the device reads, or with `deviceWritable`, writes.
/// Only a `DMARegion` names memory, so every buffer lies inside memory the trusted
/// library gave the driver for DMA.
public struct VirtQueueBuffer: Equatable, Sendable {
  public var region: DMARegion
  public var deviceWritable: Bool

  public init(_ region: DMARegion, deviceWritable: Bool) {
    self.region = region
    self.deviceWritable = deviceWritable
  }

  /// A buffer the device reads.
  public static func readable(_ region: DMARegion) -> Self {
    Self(region, deviceWritable: false)
  }

  /// A buffer the device writes.
  public static func writable(_ region: DMARegion) -> Self {
    Self(region, deviceWritable: true)
  }
}

/// A chain the device has finished with: its id from `add`, and how many bytes the
/// device says it wrote into the chain's writable buffers.
public struct UsedChain: Equatable, Sendable {
  public let id: UInt16
  public let length: UInt32

  public init(id: UInt16, length: UInt32) {
    self.id = id
    self.length = length
  }
}
