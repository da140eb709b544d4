/// The virtio-blk driver core: 4 KiB block reads and writes, flushes, batches of them
/// in flight at once, and their completions, over a `VirtioPCITransport` and DMA
/// memory its caller provides.
///
/// It knows nothing of the kernel. The caller maps the device's structures as windows,
/// allocates `memoryByteCount(queueSize:)` bytes of DMA memory for the request queue
/// and the request headers, and gives data buffers by device address. Waiting is the
/// caller's too: `submit` requests, `kick` the device once per batch, then `poll`
/// (after an interrupt, `interruptArrived`, or in a loop); the synchronous `read`,
/// `write` and `flush` take a `waiting` closure to call while nothing has completed.
///
/// Every failure is a value: a block past the end, a read-only disk, a full queue, the
/// device's IOERR or UNSUPP, and a device that breaks the ring protocol.
import Registers

public final class VirtioBlockDevice<Window: MemoryWindow, Memory: DMAMemory> {
  /// Bytes in a block of this driver: eight 512-byte sectors.
  public static var blockBytes: Int { 4096 }
  static var sectorsPerBlock: UInt64 { 8 }
  /// Descriptors of a read or write: header, data, status. A flush takes two.
  static var descriptorsPerRequest: Int { 3 }

  /// Features the driver takes if offered (VIRTIO_F_VERSION_1 is always required).
  public static var optionalFeatures: VirtioFeatures {
    [.blockReadOnly, .blockSize, .blockFlush, .blockSegmentMax, .accessPlatform]
  }

  /// DMA bytes a device with at most `queueSize` queue entries needs.
  public static func memoryByteCount(queueSize: Int) -> Int {
    VirtioBlockMemoryLayout(queueSize: VirtQueueLayout.largestSize(notAbove: queueSize)).byteCount
  }

  public let transport: VirtioPCITransport<Window>
  public let memory: Memory
  /// The features both sides agreed on.
  public let features: VirtioFeatures
  /// The disk's size in 512-byte sectors.
  public let sectorCount: UInt64
  /// The logical block size the device prefers (512 unless it says otherwise).
  public let preferredBlockSize: UInt32
  public let layout: VirtioBlockMemoryLayout
  private let queue: VirtQueue<Memory>
  private let notifier: QueueNotifier
  /// Per request id: the caller's tag.
  private var tags: [UInt64]

  /// Resets the device, negotiates features, reads the configuration, sets up request
  /// queue 0 with at most `maximumQueueSize` entries in `memory` (which must hold
  /// `memoryByteCount(queueSize: maximumQueueSize)` bytes at a 16-byte aligned device
  /// address) using MSI-X `queueVector` for completions and `configurationVector` for
  /// configuration changes (or none: use the ISR), and starts the device. On failure the
  /// device is marked FAILED.
  public init(
    transport: VirtioPCITransport<Window>, memory: Memory, maximumQueueSize: Int = 128,
    queueVector: UInt16 = VirtioCommonConfiguration<Window>.noVector,
    configurationVector: UInt16 = VirtioCommonConfiguration<Window>.noVector
  ) throws(VirtioBlockError) {
    let planned = VirtioBlockMemoryLayout(
      queueSize: VirtQueueLayout.largestSize(notAbove: maximumQueueSize))
    guard memory.byteCount >= planned.byteCount else {
      throw .transport(
        .queueMemoryUnusable(needed: planned.byteCount, available: memory.byteCount))
    }
    let features: VirtioFeatures
    do {
      features = try transport.initialize(required: [], optional: Self.optionalFeatures)
    } catch {
      throw .transport(error)
    }
    guard let window = transport.device,
      let configuration = VirtioBlockConfiguration(fitting: window)
    else {
      transport.fail()
      throw .transport(.windowTooSmall(.deviceConfiguration))
    }
    let setUp: (queue: VirtQueue<Memory>, notifier: QueueNotifier)
    do {
      if configurationVector != VirtioCommonConfiguration<Window>.noVector {
        try transport.setConfigurationVector(configurationVector)
      }
      setUp = try transport.setUpQueue(
        0, maximumSize: maximumQueueSize, memory: memory, vector: queueVector)
    } catch {
      transport.fail()
      throw .transport(error)
    }
    guard setUp.queue.size >= Self.descriptorsPerRequest else {
      transport.fail()
      throw .queueTooSmall(setUp.queue.size)
    }
    self.transport = transport
    self.memory = memory
    self.features = features
    sectorCount = transport.readConfiguration { configuration.capacity.read() }
    let reported = features.contains(.blockSize) ? configuration.blockSize.read() : 512
    preferredBlockSize =
      reported >= 512 && reported <= 65536 && reported & (reported - 1) == 0 ? reported : 512
    layout = VirtioBlockMemoryLayout(queueSize: setUp.queue.size)
    queue = setUp.queue
    notifier = setUp.notifier
    tags = [UInt64](repeating: 0, count: setUp.queue.size)
    transport.start()
  }

  /// The disk's size in 4 KiB blocks (a partial block at the end is not used).
  public var blockCount: UInt64 { sectorCount / Self.sectorsPerBlock }
  public var isReadOnly: Bool { features.contains(.blockReadOnly) }
  /// Whether the device caches writes and takes flushes; without it, writes are
  /// durable when they complete.
  public var canFlush: Bool { features.contains(.blockFlush) }
  public var queueSize: Int { queue.size }
  /// The most reads and writes in flight at once.
  public var capacity: Int { queue.size / Self.descriptorsPerRequest }
  public var requestsInFlight: Int { queue.chainsInFlight }
  /// Whether the device has hit an error it cannot leave without a reset.
  public var deviceNeedsReset: Bool { transport.needsReset }

  /// Asks the device not to interrupt on completions, for a driver that polls.
  public var suppressesInterrupts: Bool {
    get { queue.suppressesInterrupts }
    set { queue.suppressesInterrupts = newValue }
  }

  // MARK: Asynchronous requests

  /// Queues a request and returns its id, which its completion carries with `tag`.
  /// The device sees it after the next `kick`. Throws without queueing anything for a
  /// block past the end, a write to a read-only disk, a flush the device does not take,
  /// a full queue or a failed queue.
  @discardableResult
  public func submit(_ request: VirtioBlockRequest, tag: UInt64 = 0) throws(VirtioBlockError)
    -> UInt16
  {
    let type: UInt32
    let sector: UInt64
    let data: VirtQueueBuffer?
    switch request {
    case .read(let block, let address):
      try check(block: block, buffer: address)
      (type, sector) = (VirtioBlockRequestType.read, block * Self.sectorsPerBlock)
      data = .writable(address, length: UInt32(Self.blockBytes))
    case .write(let block, let address):
      guard !isReadOnly else { throw .readOnly }
      try check(block: block, buffer: address)
      (type, sector) = (VirtioBlockRequestType.write, block * Self.sectorsPerBlock)
      data = .readable(address, length: UInt32(Self.blockBytes))
    case .flush:
      guard canFlush else { throw .unsupported }
      (type, sector, data) = (VirtioBlockRequestType.flush, 0, nil)
    }
    if let failure = queue.failure { throw .deviceMisbehaved(.deviceMisbehaved(failure)) }
    let needed = data == nil ? 2 : 3
    guard queue.freeCount >= needed, let id = queue.nextID else { throw .queueFull }

    let header = layout.headers + VirtioBlockHeader.byteCount * Int(id)
    let status = layout.statuses + Int(id)
    memory.store32(type, at: header + VirtioBlockHeader.type)
    memory.store32(0, at: header + 4)
    memory.store64(sector, at: header + VirtioBlockHeader.sector)
    memory.store8(VirtioBlockStatus.notWritten, at: status)
    let chain = RequestChain(
      header: .readable(
        memory.deviceAddress(at: header, count: VirtioBlockHeader.byteCount),
        length: UInt32(VirtioBlockHeader.byteCount)),
      data: data,
      status: .writable(memory.deviceAddress(at: status, count: 1), length: 1))
    do {
      let added = try queue.add(chain)
      precondition(added == id, "virtqueue: chain id differs from nextID")
    } catch .full {
      throw .queueFull
    } catch {
      throw .deviceMisbehaved(error)
    }
    tags[Int(id)] = tag
    return id
  }

  /// Shows the device every request submitted since the last kick, and notifies it
  /// unless it asked not to be.
  public func kick() {
    if queue.publish() { transport.notify(notifier) }
  }

  /// The next finished request, or nil if none has finished yet. Throws if the device
  /// broke the ring protocol; reset it then.
  public func poll() throws(VirtioBlockError) -> BlockCompletion? {
    let used: UsedChain?
    do {
      used = try queue.nextUsed()
    } catch {
      throw .deviceMisbehaved(error)
    }
    guard let used else { return nil }
    let status = memory.load8(at: layout.statuses + Int(used.id))
    return BlockCompletion(id: used.id, tag: tags[Int(used.id)], error: Self.error(status))
  }

  /// After an interrupt: reads (and so clears) the ISR status, which says whether a
  /// queue has completions (`[.queue]`) or the configuration changed. Poll after it.
  public func interruptArrived() -> InterruptStatus { transport.readInterruptStatus() }

  // MARK: Synchronous requests

  /// Reads block `block` into the 4096 bytes at device address `address`, calling
  /// `waiting` while it is not done; `waiting` returns false to give up (`.timedOut`).
  public func read(block: UInt64, into address: UInt64, waiting: () -> Bool)
    throws(VirtioBlockError)
  {
    try perform(.read(block: block, into: address), waiting: waiting)
  }

  /// Writes the 4096 bytes at device address `address` to block `block`.
  public func write(block: UInt64, from address: UInt64, waiting: () -> Bool)
    throws(VirtioBlockError)
  {
    try perform(.write(block: block, from: address), waiting: waiting)
  }

  /// Makes every completed write durable. Nothing to do on a device without a write
  /// cache (no VIRTIO_BLK_F_FLUSH).
  public func flush(waiting: () -> Bool) throws(VirtioBlockError) {
    guard canFlush else { return }
    try perform(.flush, waiting: waiting)
  }

  /// Submits one request and waits for it; refuses while others are in flight, whose
  /// completions it would take.
  public func perform(_ request: VirtioBlockRequest, waiting: () -> Bool) throws(VirtioBlockError) {
    guard requestsInFlight == 0 else { throw .busy }
    let id = try submit(request)
    kick()
    while true {
      if let completion = try poll() {
        precondition(completion.id == id, "virtio-blk: completion of a request not submitted")
        if let error = completion.error { throw error }
        return
      }
      guard waiting() else { throw .timedOut }
    }
  }

  // MARK: Checks

  private func check(block: UInt64, buffer: UInt64) throws(VirtioBlockError) {
    guard block < blockCount else { throw .outOfRange(block: block, blockCount: blockCount) }
    guard buffer <= UInt64.max - UInt64(Self.blockBytes) + 1 else { throw .invalidBuffer }
  }

  private static func error(_ status: UInt8) -> VirtioBlockError? {
    switch status {
    case VirtioBlockStatus.ok: nil
    case VirtioBlockStatus.ioError: .ioError
    case VirtioBlockStatus.unsupported: .unsupported
    default: .unknownStatus(status)
    }
  }
}

/// Where the driver's DMA memory holds what: the queue's rings first, then one
/// 16-byte request header and one status byte per queue entry, indexed by request id.
public struct VirtioBlockMemoryLayout: Equatable, Sendable {
  public let queue: VirtQueueLayout
  public let headers: Int
  public let statuses: Int
  public let byteCount: Int

  public init(queueSize: Int) {
    let size = VirtQueueLayout.largestSize(notAbove: queueSize)
    queue = VirtQueueLayout(size: size)!
    headers = (queue.byteCount + 15) & ~15
    statuses = headers + VirtioBlockHeader.byteCount * size
    byteCount = statuses + size
  }
}

/// The two or three buffers of one request, without an array.
struct RequestChain: RandomAccessCollection {
  let header: VirtQueueBuffer
  let data: VirtQueueBuffer?
  let status: VirtQueueBuffer

  var startIndex: Int { 0 }
  var endIndex: Int { data == nil ? 2 : 3 }

  subscript(position: Int) -> VirtQueueBuffer {
    switch position {
    case 0: header
    case endIndex - 1: status
    default: data!
    }
  }
}
