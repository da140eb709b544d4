/// The virtio-blk driver core: 4 KiB block reads and writes, flushes, batches of them
/// in flight at once, and their completions, over a `VirtioPCITransport` and DMA
/// memory its caller provides.
///
/// It knows nothing of the kernel. The caller maps the device's structures as windows,
/// allocates `memoryByteCount(queueSize:)` bytes of DMA memory for the request queue
/// and the request headers, and names data buffers by `DMARegion`. Waiting is the
/// caller's too: `perform` (one request) and `perform(batchOf:...)` take a `waiting`
/// closure to call while none of their requests has completed, which says when to give
/// up (a deadline: a device that never completes a request must not hold its caller).
///
/// Two rules hold for every request, whoever waits for it:
/// - a request goes back to its submitter only once the device is done with it: it
///   completed it, or the device was reset, which makes it drop every buffer (and a
///   device that does not finish resetting stops the domain, so that the kernel turns
///   its DMA off before anything is freed);
/// - a completion is matched to exactly its request: the chain's id is that request's
///   alone until its submitter has taken the completion, and each request carries a
///   serial number and its batch, never reused. Completions a poll finds for another
///   batch stay recorded for it. A device that names a request not at the device, or
///   gives one back without writing its status, broke the protocol: it is reset and
///   every request still out gets the error.
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
  /// Per request id (the chain's head): the request it carries.
  /// One record per descriptor id. Each is a small object of its own, so that updating
  /// a record changes the object and never the array (a write into an array stored in
  /// a class may copy it, a call the exclusivity rule cannot see through).
  private let requests: [RequestSlot]
  private var nextSerial: UInt64 = 1
  /// Batch 0 is every request submitted on its own.
  private var nextBatch: UInt64 = 1
  /// Requests at the device.
  public private(set) var requestsInFlight = 0
  /// Requests the device gave back that their submitter has not collected yet.
  public private(set) var uncollectedCount = 0
  /// Why the device was reset: it holds no buffer, and the driver takes no requests.
  public private(set) var stopped: VirtioBlockError?

  /// Resets the device, negotiates features, reads the configuration, sets up request
  /// queue 0 with at most `maximumQueueSize` entries in `memory` (which must hold
  /// `memoryByteCount(queueSize: maximumQueueSize)` bytes at a 16-byte aligned device
  /// address) using MSI-X `queueVector` for completions and `configurationVector` for
  /// configuration changes (or none: use the ISR), and starts the device. On failure the
  /// device is marked FAILED, and reset if it was told where the queue is: it holds
  /// nothing in `memory`, which the caller may free.
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
      // The device may have been told where the queue is, in memory the caller frees.
      transport.abandon()
      throw .transport(error)
    }
    guard setUp.queue.size >= Self.descriptorsPerRequest else {
      transport.abandon()
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
    requests = (0..<setUp.queue.size).map { _ in RequestSlot() }
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
  /// Whether the device has hit an error it cannot leave without a reset.
  public var deviceNeedsReset: Bool { transport.needsReset }

  /// Asks the device not to interrupt on completions, for a driver that polls.
  public var suppressesInterrupts: Bool {
    get { queue.suppressesInterrupts }
    set { queue.suppressesInterrupts = newValue }
  }

  // MARK: Requests one by one

  /// Queues a request and returns its ticket, which its completion carries with `tag`.
  /// The device sees it after the next `kick`. Throws without queueing anything for a
  /// block past the end, a buffer that is not one block, a write to a read-only disk, a
  /// flush the device does not take, a full queue, or a stopped device.
  @discardableResult
  public func submit(_ request: VirtioBlockRequest, tag: UInt64 = 0) throws(VirtioBlockError)
    -> BlockTicket
  {
    try submit(request, batch: 0, tag: tag)
  }

  private func submit(_ request: VirtioBlockRequest, batch: UInt64, tag: UInt64)
    throws(VirtioBlockError) -> BlockTicket
  {
    let type: UInt32
    let sector: UInt64
    let data: VirtQueueBuffer?
    switch request {
    case .read(let block, let buffer):
      try check(block: block, buffer: buffer)
      (type, sector) = (VirtioBlockRequestType.read, block * Self.sectorsPerBlock)
      data = .writable(buffer)
    case .write(let block, let buffer):
      guard !isReadOnly else { throw .readOnly }
      try check(block: block, buffer: buffer)
      (type, sector) = (VirtioBlockRequestType.write, block * Self.sectorsPerBlock)
      data = .readable(buffer)
    case .flush:
      guard canFlush else { throw .unsupported }
      (type, sector, data) = (VirtioBlockRequestType.flush, 0, nil)
    }
    if let stopped { throw stopped }
    let needed = data == nil ? 2 : 3
    guard queue.freeCount >= needed, let id = queue.nextID else { throw .queueFull }

    let header = layout.headers + VirtioBlockHeader.byteCount * Int(id)
    let status = layout.statuses + Int(id)
    memory.store32(type, at: header + VirtioBlockHeader.type)
    memory.store32(0, at: header + 4)
    memory.store64(sector, at: header + VirtioBlockHeader.sector)
    memory.store8(VirtioBlockStatus.notWritten, at: status)
    let chain = RequestChain(
      header: .readable(memory.dmaRegion(at: header, count: VirtioBlockHeader.byteCount)),
      data: data,
      status: .writable(memory.dmaRegion(at: status, count: 1)))
    do {
      let added = try queue.add(chain)
      precondition(added == id, "virtqueue: chain id differs from nextID")
    } catch .full {
      throw .queueFull
    } catch {
      throw .deviceMisbehaved(error)
    }
    let serial = nextSerial
    nextSerial &+= 1
    requests[Int(id)].record = RequestRecord(
      serial: serial, batch: batch, tag: tag, state: .atDevice)
    requestsInFlight += 1
    return BlockTicket(id: id, serial: serial)
  }

  /// Shows the device every request submitted since the last kick, and notifies it
  /// unless it asked not to be.
  public func kick() {
    if queue.publish() { transport.notify(notifier) }
  }

  /// Takes the next completion from the device and records it for its request, whose
  /// ticket it returns; nil if none has come. Throws if the device broke the protocol
  /// (it is then reset) or was reset before.
  public func poll() throws(VirtioBlockError) -> BlockTicket? {
    guard let id = try takeUsed(faults: { nil }) else { return nil }
    return BlockTicket(id: id, serial: requests[Int(id)].record.serial)
  }

  /// `poll` without the ticket: the id of the request that completed. `faults` is asked
  /// before each used entry is read (and only then) whether to act out a device fault
  /// on it.
  @inline(__always)
  private func takeUsed(faults: () -> CompletionFault?) throws(VirtioBlockError) -> UInt16? {
    if let stopped { throw stopped }
    while queue.hasUsed {
      let fault = faults()
      if fault == .bogus { queue.corruptNextUsed() }
      let used: UsedChain
      do {
        guard let next = try queue.nextUsed() else { return nil }
        used = next
      } catch {
        try fail(.deviceMisbehaved(error))
      }
      let status = memory.load8(at: layout.statuses + Int(used.id))
      // A chain given back with its status unwritten is not done, whatever the ring says:
      // maybe a stale completion of an earlier request that had this id.
      guard status != VirtioBlockStatus.notWritten else {
        try fail(.statusNotWritten(id: used.id))
      }
      // Lost: the request stays at the device as far as the driver knows.
      if fault == .lost { continue }
      requests[Int(used.id)].record.state = .completed(status: status)
      requestsInFlight -= 1
      uncollectedCount += 1
      return used.id
    }
    return nil
  }

  /// The request's outcome once the device is done with it (nil while the device holds
  /// it). The ticket is spent then: its id is free for another request. Stops the domain
  /// for a ticket spent before (the driver's own mistake).
  public func collect(_ ticket: BlockTicket) -> BlockCompletion? {
    precondition(
      requests[Int(ticket.id)].record.serial == ticket.serial,
      "virtio-blk: a ticket collected twice")
    guard let (tag, error) = finish(ticket.id) else { return nil }
    return BlockCompletion(ticket: ticket, tag: tag, error: error)
  }

  /// Request `id`'s tag and outcome, its record and descriptors freed, if the device is
  /// done with it; nil while the device holds it.
  @inline(__always)
  private func finish(_ id: UInt16) -> (tag: UInt64, error: VirtioBlockError?)? {
    let record = requests[Int(id)].record
    let error: VirtioBlockError?
    if case .completed(let status) = record.state {
      error = Self.error(status)
      uncollectedCount -= 1
      if stopped == nil { queue.release(id) }
    } else if let stopped {
      error = stopped
    } else {
      return nil
    }
    requests[Int(id)].record = RequestRecord()
    return (record.tag, error)
  }

  /// After an interrupt: reads (and so clears) the ISR status, which says whether a
  /// queue has completions (`[.queue]`) or the configuration changed. Poll after it.
  public func interruptArrived() -> InterruptStatus { transport.readInterruptStatus() }

  /// Resets the device, which then holds no buffer: every request still at the device
  /// completes with `reason`, and the driver takes no more (set up a new one). Stops the
  /// domain if the device does not finish resetting (`resetDroppingBuffers`).
  public func stop(because reason: VirtioBlockError) {
    guard stopped == nil else { return }
    transport.resetDroppingBuffers()
    stopped = reason
    requestsInFlight = 0
  }

  private func fail(_ reason: VirtioBlockError) throws(VirtioBlockError) -> Never {
    stop(because: reason)
    throw reason
  }

  // MARK: Requests waited for

  /// Does `count` requests as one batch: `request(i)` gives request `i` (nil if its
  /// buffer cannot be used), every one goes to the device before it is notified once,
  /// `submitted` runs, and `completed(i, error)` reports each one's outcome (nil: done)
  /// as it comes, `waiting` being called while none has. `waiting` returns false to give
  /// up: the driver looks for completions once more (another caller may have taken
  /// them from the ring meanwhile, or they came just then), and resets the device if
  /// any of the batch's requests is still out. Returns only when the device holds none
  /// of the batch's requests; throws, after reporting every outcome, if the device had
  /// to be reset (`stopped` says why). `faults` is asked, before each completion is
  /// taken from the used ring, whether to act out a device fault on it (a fault
  /// campaign's; `CompletionFault`).
  @inline(__always)  // into its two callers, so that their closures inline too
  public func perform(
    batchOf count: Int, request: (Int) -> VirtioBlockRequest?, submitted: () -> Void = {},
    completed: (Int, VirtioBlockError?) -> Void, waiting: () -> Bool,
    faults: () -> CompletionFault? = { nil }
  ) throws(VirtioBlockError) {
    let batch = nextBatch
    nextBatch &+= 1
    var outstanding = 0
    for index in 0..<count {
      guard let request = request(index) else {
        completed(index, .invalidBuffer)
        continue
      }
      do throws(VirtioBlockError) {
        _ = try submit(request, batch: batch, tag: UInt64(index))
        outstanding += 1
      } catch {
        completed(index, error)
      }
    }
    kick()
    submitted()
    var gaveUp = false
    while outstanding > 0 {
      do {
        // Stops at the batch's last completion: one more look would only find nothing.
        while outstanding > 0, let id = try takeUsed(faults: faults) {
          // Another batch's completion stays recorded for it.
          guard requests[Int(id)].record.batch == batch, let (tag, error) = finish(id) else {
            continue
          }
          completed(Int(tag), error)
          outstanding -= 1
        }
      } catch {
        break
      }
      if outstanding > 0 && uncollectedCount > 0 {
        outstanding -= collectRecorded(batch, completed)
      }
      guard outstanding > 0 else { break }
      // The look after the wait gave up was the last: what is still out, the device
      // drops with the reset.
      if gaveUp {
        stop(because: .timedOut)
        break
      }
      gaveUp = !waiting()
    }
    if outstanding > 0 { outstanding -= collectRecorded(batch, completed) }
    precondition(outstanding == 0, "virtio-blk: a request of the batch is unaccounted for")
    if let stopped { throw stopped }
  }

  /// Reports the batch's requests that are done but were polled by another waiter (or,
  /// once the device is stopped, all of them); returns how many.
  private func collectRecorded(_ batch: UInt64, _ completed: (Int, VirtioBlockError?) -> Void)
    -> Int
  {
    var found = 0
    for id in 0..<requests.count where requests[id].record.batch == batch {
      guard requests[id].record.state != .free, let (tag, error) = finish(UInt16(id)) else {
        continue
      }
      completed(Int(tag), error)
      found += 1
    }
    return found
  }

  /// Does one request and waits for it; throws its error, or why the device had to be
  /// reset. `waiting` and `faults` are as for a batch.
  public func perform(
    _ request: VirtioBlockRequest, waiting: () -> Bool, faults: () -> CompletionFault? = { nil }
  ) throws(VirtioBlockError) {
    var outcome: VirtioBlockError?
    try perform(
      batchOf: 1, request: { _ in request }, completed: { outcome = $1 }, waiting: waiting,
      faults: faults)
    if let outcome { throw outcome }
  }

  /// Reads block `block` into `buffer` (4096 bytes), calling `waiting` while it is not
  /// done; `waiting` returns false to give up (`.timedOut`, the device reset).
  public func read(block: UInt64, into buffer: DMARegion, waiting: () -> Bool)
    throws(VirtioBlockError)
  {
    try perform(.read(block: block, into: buffer), waiting: waiting)
  }

  /// Writes the 4096 bytes of `buffer` to block `block`.
  public func write(block: UInt64, from buffer: DMARegion, waiting: () -> Bool)
    throws(VirtioBlockError)
  {
    try perform(.write(block: block, from: buffer), waiting: waiting)
  }

  /// Makes every completed write durable. Nothing to do on a device without a write
  /// cache (no VIRTIO_BLK_F_FLUSH).
  public func flush(waiting: () -> Bool) throws(VirtioBlockError) {
    guard canFlush else { return }
    try perform(.flush, waiting: waiting)
  }

  // MARK: Checks

  private func check(block: UInt64, buffer: DMARegion) throws(VirtioBlockError) {
    guard block < blockCount else { throw .outOfRange(block: block, blockCount: blockCount) }
    guard buffer.byteCount == Self.blockBytes else { throw .invalidBuffer }
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

/// What the driver knows of the request a chain carries, kept in its own memory (the
/// device can write the DMA memory, never this).
/// A request record's place in the table.
final class RequestSlot {
  var record = RequestRecord()
}

struct RequestRecord {
  enum State: Equatable {
    /// Carries no request: its serial is 0, which no ticket has.
    case free
    case atDevice
    /// The device gave it back with this status byte.
    case completed(status: UInt8)
  }

  /// Never reused: tells this request from earlier ones that had the same id.
  var serial: UInt64 = 0
  var batch: UInt64 = 0
  var tag: UInt64 = 0
  var state = State.free
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
