/// A split virtqueue, the driver's side: descriptor chains out through the available
/// ring, completions back through the used ring, in DMA memory the device reads.
///
/// The driver's bookkeeping (free descriptors, what is in flight, how much a chain may
/// take) is kept in private arrays, never read back from the shared memory: the device
/// can write that memory, and nothing it writes there may change what the driver
/// believes. Everything the device reports is checked against that bookkeeping, and a
/// device that breaks the protocol gets an error, never a trap; the queue then stays
/// failed until the device is reset and the queue made anew.
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

  /// Free descriptors, linked through `nextFree`; a chain takes them in list order, so
  /// the links also give each chain's descriptors in order.
  private var nextFree: [UInt16]
  private var freeHead: UInt16 = 0
  public private(set) var freeCount: Int
  /// Per descriptor: how many descriptors the chain it heads has; 0 if it heads none
  /// in flight.
  private var chainLength: [UInt16]
  /// Per chain head: the bytes the device may write.
  private var writableBytes: [UInt32]
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
    guard memory.contains(offset: offset, count: layout.byteCount),
      (memory.deviceAddress &+ UInt64(offset)) % 16 == 0, offset % 16 == 0
    else { throw .memoryUnusable(needed: layout.byteCount, available: available) }
    self.layout = layout
    self.memory = memory
    self.offset = offset
    nextFree = (0..<size).map { UInt16(truncatingIfNeeded: $0 + 1) }
    freeCount = size
    chainLength = [UInt16](repeating: 0, count: size)
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

  /// Device addresses of the three parts, for the transport's queue registers.
  public var descriptorTableAddress: UInt64 {
    memory.deviceAddress(at: offset + layout.descriptorTable, count: layout.availableRing)
  }
  public var availableRingAddress: UInt64 {
    memory.deviceAddress(at: offset + layout.availableRing, count: 6 + 2 * size)
  }
  public var usedRingAddress: UInt64 {
    memory.deviceAddress(at: offset + layout.usedRing, count: 6 + 8 * size)
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
      if buffer.deviceWritable {
        seenWritable = true
        writable += UInt64(buffer.length)
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
    memory.store64(buffer.address, at: at)
    memory.store32(buffer.length, at: at + 8)
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

  /// The next chain the device has finished with, or nil if there is none yet. Its
  /// descriptors are free again when this returns. Throws if the device broke the
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
    let slot = Int(usedIndex) & (size - 1)
    let at =
      offset + layout.usedRing + VirtQueueLayout.ringEntries + VirtQueueLayout.usedElementBytes
      * slot
    let id = memory.load32(at: at)
    let length = memory.load32(at: at + 4)
    guard id < UInt32(size) else { try fail(.usedIDOutOfRange(id)) }
    let head = UInt16(id)
    guard chainLength[Int(head)] > 0 else { try fail(.usedIDNotInFlight(head)) }
    guard length <= writableBytes[Int(head)] else {
      try fail(
        .usedLengthTooLong(id: head, length: length, writable: writableBytes[Int(head)]))
    }
    usedIndex &+= 1
    release(head)
    return UsedChain(id: head, length: length)
  }

  /// Returns a chain's descriptors to the free list.
  private func release(_ head: UInt16) {
    var last = head
    for _ in 1..<Int(chainLength[Int(head)]) { last = nextFree[Int(last)] }
    nextFree[Int(last)] = freeHead
    freeHead = head
    freeCount += Int(chainLength[Int(head)])
    chainLength[Int(head)] = 0
    writableBytes[Int(head)] = 0
    chainsInFlight -= 1
  }

  private func fail(_ misbehaviour: VirtQueueError.DeviceMisbehaviour) throws(VirtQueueError)
    -> Never
  {
    failure = misbehaviour
    throw .deviceMisbehaved(misbehaviour)
  }
}

/// One buffer of a chain: `length` bytes at `address` as the device sees it, which the
/// device reads, or with `deviceWritable`, writes.
public struct VirtQueueBuffer: Equatable, Sendable {
  public var address: UInt64
  public var length: UInt32
  public var deviceWritable: Bool

  public init(address: UInt64, length: UInt32, deviceWritable: Bool) {
    self.address = address
    self.length = length
    self.deviceWritable = deviceWritable
  }

  /// A buffer the device reads.
  public static func readable(_ address: UInt64, length: UInt32) -> Self {
    Self(address: address, length: length, deviceWritable: false)
  }

  /// A buffer the device writes.
  public static func writable(_ address: UInt64, length: UInt32) -> Self {
    Self(address: address, length: length, deviceWritable: true)
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
