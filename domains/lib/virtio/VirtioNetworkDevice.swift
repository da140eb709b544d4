/// The virtio-net driver core: a receive and a transmit queue over a
/// `VirtioPCITransport`, buffers named by `DMARegion`, and every answer of the device
/// checked before it is believed.
///
/// It knows nothing of the kernel or of RRefs. The caller maps the device's structures
/// as windows, allocates `memoryByteCount(queueSize:)` bytes of DMA memory for the two
/// queues' rings, and hands over each buffer as one region holding the 12-byte header
/// and the frame right after it: one descriptor per buffer (QEMU breaks on a transmit
/// chain whose first descriptor is shorter than the header, and drops a frame whose
/// receive chain is shorter than a header and a full frame). Each buffer gets an id,
/// which comes back when the device is done with it: that is how the caller finds its
/// buffer again. An id is the device's word, so it is checked against the chains the
/// device holds, and so is the length it says it wrote.
///
/// Receive buffers stay at the device until a frame arrives in them. Sent frames come
/// back once the device has read them, which QEMU does after the notification returns,
/// so `takeTransmitted` finds them on a later call. Neither queue interrupts, except the
/// receive queue while someone waits in `waitForFrames`.
///
/// A device that breaks the ring protocol (an id it was never given, a length past the
/// buffer, a used index that runs ahead) is reset at once, so it holds no buffer, and
/// this driver refuses everything after: the caller takes its buffers back from its own
/// bookkeeping and starts a new driver on the same transport and memory. So is one that
/// keeps a frame to send longer than `transmitTimeout` (`watchTransmit`, the transmit
/// watchdog): a caller never waits on the device, but the frames it gave would
/// otherwise never come back.
import Registers

public final class VirtioNetworkDevice<Window: MemoryWindow, Memory: DMAMemory> {
  /// Features the device must offer besides VIRTIO_F_VERSION_1: without a MAC address
  /// of its own, the driver would have to make one up.
  public static var requiredFeatures: VirtioFeatures { [.networkMAC] }
  /// Features taken if offered. No offload: QEMU's user and socket back-ends withdraw
  /// them anyway, and without them every header is zero.
  public static var optionalFeatures: VirtioFeatures { [.networkStatus, .accessPlatform] }
  /// The least a receive buffer holds: a header and the longest frame.
  public static var minimumReceiveBytes: Int {
    VirtioNetworkHeader.byteCount + EthernetFrameLength.maximum
  }
  /// The most a receive buffer may hold: a descriptor's length is 32 bits, and no frame
  /// needs more.
  public static var maximumReceiveBytes: Int { 65536 }
  /// How long a frame may stay at the device before the transmit queue counts as
  /// stopped: QEMU sends within a bottom half of the notification, so anything near this
  /// is a device that stopped moving.
  public static var transmitTimeout: UInt64 { 500_000_000 }

  /// DMA bytes a device with at most `queueSize` entries per queue needs.
  public static func memoryByteCount(queueSize: Int) -> Int {
    VirtioNetworkMemoryLayout(queueSize: queueSize).byteCount
  }

  public let transport: VirtioPCITransport<Window>
  public let memory: Memory
  /// The features both sides agreed on.
  public let features: VirtioFeatures
  /// The device's MAC address, the first byte on the wire in bits 47-40.
  public let macAddress: UInt64
  public let layout: VirtioNetworkMemoryLayout
  private let configuration: VirtioNetworkConfiguration<Window>
  private let receiveQueue: VirtQueue<Memory>
  private let transmitQueue: VirtQueue<Memory>
  private let receiveNotifier: QueueNotifier
  private let transmitNotifier: QueueNotifier
  /// Per transmit chain id: the length of the frame it carries, for the counters.
  private var transmitLengths: [UInt16]
  /// Per transmit chain id: when its frame was queued, or `notHeld` if the driver holds
  /// no frame under it (given back, or never queued). A lost completion leaves it held.
  private var transmitQueuedAt: [UInt64]
  private static var notHeld: UInt64 { .max }
  /// Frames queued and not given back (the device's, and those whose completion was
  /// lost).
  public private(set) var framesHeld = 0
  /// The watchdog looks at the frames' times at most four times per timeout.
  private var nextTransmitLook: UInt64 = 0
  public private(set) var counters: VirtioNetworkCounters
  /// Callers inside `waitForFrames`: the receive queue interrupts while there are any.
  private var waiters = 0
  /// Why the device was reset: it holds no buffer, and the driver takes none.
  public private(set) var stopped: VirtioNetworkError?

  /// Resets the device (whatever state an earlier driver left it in), negotiates
  /// features, reads the MAC address, sets up receive queue 0 and transmit queue 1 with
  /// at most `maximumQueueSize` entries each in `memory` (which must hold
  /// `memoryByteCount(queueSize: maximumQueueSize)` bytes at a 16-byte aligned device
  /// address), both using MSI-X `queueVector` (or none: use the ISR), and starts the
  /// device with no buffer posted. `counters` carries the counts of an earlier driver of
  /// the same device on; this one adds a reset. On failure the device is marked FAILED,
  /// and reset if it was told where a queue is: it holds nothing in `memory`, which the
  /// caller may free.
  public init(
    transport: VirtioPCITransport<Window>, memory: Memory, maximumQueueSize: Int = 128,
    queueVector: UInt16 = VirtioCommonConfiguration<Window>.noVector,
    counters: VirtioNetworkCounters = VirtioNetworkCounters()
  ) throws(VirtioNetworkError) {
    let planned = VirtioNetworkMemoryLayout(queueSize: maximumQueueSize)
    guard memory.byteCount >= planned.byteCount else {
      throw .transport(
        .queueMemoryUnusable(needed: planned.byteCount, available: memory.byteCount))
    }
    let features: VirtioFeatures
    do {
      features = try transport.initialize(
        required: Self.requiredFeatures, optional: Self.optionalFeatures)
    } catch {
      throw .transport(error)
    }
    guard let window = transport.device,
      let configuration = VirtioNetworkConfiguration(fitting: window)
    else {
      transport.fail()
      throw .transport(.windowTooSmall(.deviceConfiguration))
    }
    let receive: (queue: VirtQueue<Memory>, notifier: QueueNotifier)
    let transmit: (queue: VirtQueue<Memory>, notifier: QueueNotifier)
    do {
      receive = try transport.setUpQueue(
        NetworkQueue.receive.rawValue, maximumSize: planned.queueSize, memory: memory,
        offset: planned.receiveQueue, vector: queueVector)
      transmit = try transport.setUpQueue(
        NetworkQueue.transmit.rawValue, maximumSize: planned.queueSize, memory: memory,
        offset: planned.transmitQueue, vector: queueVector)
    } catch {
      // The device may have been told where a queue is, in memory the caller frees.
      transport.abandon()
      throw .transport(error)
    }
    self.transport = transport
    self.memory = memory
    self.features = features
    self.configuration = configuration
    layout = planned
    macAddress = transport.readConfiguration {
      var address: UInt64 = 0
      for index in 0..<6 { address = address << 8 | UInt64(configuration.macByte(index).read()) }
      return address
    }
    receiveQueue = receive.queue
    transmitQueue = transmit.queue
    receiveNotifier = receive.notifier
    transmitNotifier = transmit.notifier
    transmitLengths = [UInt16](repeating: 0, count: transmit.queue.size)
    transmitQueuedAt = [UInt64](repeating: Self.notHeld, count: transmit.queue.size)
    receive.queue.suppressesInterrupts = true
    transmit.queue.suppressesInterrupts = true
    var counters = counters
    counters.resets += 1
    self.counters = counters
    transport.start()
  }

  /// Whether the link is up; always, for a device that does not report it.
  public var linkUp: Bool {
    guard features.contains(.networkStatus) else { return true }
    return configuration.status.read()[.linkUp]
  }

  // MARK: Receive

  /// How many buffers the receive queue holds when full.
  public var receiveCapacity: Int { receiveQueue.size }
  /// How many more receive buffers the device can take now.
  public var receiveRoom: Int { stopped == nil ? receiveQueue.freeCount : 0 }
  /// Receive buffers at the device.
  public var receiveBuffersPosted: Int { receiveQueue.chainsInFlight }

  /// Hands the device `buffer` (header room, then frame room) to receive one frame into,
  /// and returns its id. The device sees it after `publishReceive`. Throws, taking
  /// nothing, for a buffer shorter than `minimumReceiveBytes` or longer than
  /// `maximumReceiveBytes`, a full queue, or a stopped device.
  public func postReceive(_ buffer: DMARegion) throws(VirtioNetworkError) -> UInt16 {
    if let stopped { throw stopped }
    guard buffer.byteCount >= Self.minimumReceiveBytes,
      buffer.byteCount <= Self.maximumReceiveBytes
    else { throw .badBufferLength(buffer.byteCount) }
    return try add(.writable(buffer), to: receiveQueue, .receive)
  }

  /// Shows the device the receive buffers posted since the last call, and notifies it.
  public func publishReceive() {
    if stopped == nil && receiveQueue.publish() { transport.notify(receiveNotifier) }
  }

  /// Whether a buffer with a frame (or one to drop) is there for `takeReceived`.
  public var frameReady: Bool { stopped == nil && receiveQueue.hasUsed }

  /// The next receive buffer the device has filled, or nil if there is none yet. The
  /// buffer is the caller's again. Throws, after resetting the device, if the device
  /// broke the protocol (now or before).
  public func takeReceived() throws(VirtioNetworkError) -> ReceivedBuffer? {
    guard let used = try takeUsed(from: receiveQueue, .receive) else { return nil }
    // The queue checked that the device wrote no more than the buffer holds.
    let frameLength = Int(used.length) - VirtioNetworkHeader.byteCount
    guard frameLength >= EthernetFrameLength.minimum else {
      counters.receiveErrors += 1
      return ReceivedBuffer(id: used.id, frameLength: nil)
    }
    counters.receivedFrames += 1
    counters.receivedBytes += UInt64(frameLength)
    return ReceivedBuffer(id: used.id, frameLength: frameLength)
  }

  // MARK: Transmit

  /// How many frames the transmit queue holds when full.
  public var transmitCapacity: Int { transmitQueue.size }
  /// How many more frames the device can take now.
  public var transmitRoom: Int { stopped == nil ? transmitQueue.freeCount : 0 }
  /// Frames at the device, not yet given back.
  public var framesInFlight: Int { transmitQueue.chainsInFlight }

  /// Hands the device the header and frame in `buffer` (all of it: the frame's length is
  /// what follows the header), and returns its id. The caller has written the header
  /// (all zero: no offloads). The device sees it after `publishTransmit`; `now` (in
  /// nanoseconds) is when, for the transmit watchdog. Throws, taking nothing, for a frame
  /// shorter than an Ethernet header or longer than 1514 bytes (counted as a transmit
  /// error), a full queue, or a stopped device.
  public func queueTransmit(_ buffer: DMARegion, at now: UInt64 = 0) throws(VirtioNetworkError)
    -> UInt16
  {
    if let stopped { throw stopped }
    let frameLength = buffer.byteCount - VirtioNetworkHeader.byteCount
    guard frameLength >= EthernetFrameLength.minimum && frameLength <= EthernetFrameLength.maximum
    else {
      counters.transmitErrors += 1
      throw .badFrameLength(frameLength)
    }
    let id = try add(.readable(buffer), to: transmitQueue, .transmit)
    transmitLengths[Int(id)] = UInt16(frameLength)
    transmitQueuedAt[Int(id)] = min(now, Self.notHeld - 1)
    framesHeld += 1
    return id
  }

  /// Shows the device the frames queued since the last call, and notifies it.
  public func publishTransmit() {
    if stopped == nil && transmitQueue.publish() { transport.notify(transmitNotifier) }
  }

  /// The id of the next frame the device has sent, or nil if none is done yet. The
  /// buffer is the caller's again. Throws, after resetting the device, if the device
  /// broke the protocol (now or before). `losing` is asked before each completion is
  /// taken whether to act out a lost one (a fault campaign's): the driver then forgets
  /// it, and keeps the frame as if the device still held it, for the watchdog to find.
  public func takeTransmitted(losing: () -> Bool = { false }) throws(VirtioNetworkError)
    -> UInt16?
  {
    while true {
      if let stopped { throw stopped }
      guard transmitQueue.hasUsed else { return nil }
      let lost = losing()
      guard let used = try takeUsed(from: transmitQueue, .transmit, releasing: !lost) else {
        return nil
      }
      if lost { continue }
      transmitQueuedAt[Int(used.id)] = Self.notHeld
      framesHeld -= 1
      counters.sentFrames += 1
      counters.sentBytes += UInt64(transmitLengths[Int(used.id)])
      return used.id
    }
  }

  /// The transmit watchdog: resets the device (`stop(because: .transmitStalled)`) if a
  /// frame has been held since more than `transmitTimeout` before `now`, and says
  /// whether it did. A device with sent frames not yet taken back is moving: call it
  /// after taking them. It looks at the frames' times at most four times per timeout.
  @discardableResult
  public func watchTransmit(now: UInt64) -> Bool {
    guard stopped == nil, framesHeld > 0, now >= nextTransmitLook, !transmitQueue.hasUsed else {
      return false
    }
    nextTransmitLook = now &+ Self.transmitTimeout / 4
    let oldest = transmitQueuedAt.min() ?? Self.notHeld
    guard oldest != Self.notHeld, now > oldest, now - oldest > Self.transmitTimeout else {
      return false
    }
    counters.transmitErrors += 1
    stop(because: .transmitStalled)
    return true
  }

  // MARK: Waiting

  /// Whether a frame is ready, waiting until one is or `timeoutNanoseconds` have
  /// passed. While it waits the receive queue interrupts; `wait(nanoseconds)` blocks
  /// until the device interrupts (true) or that time passes (false), and `clock` tells
  /// the time in nanoseconds. Other calls may use the driver while `wait` runs, even
  /// reset the device: nothing here is kept across it but the deadline.
  public func waitForFrames(
    timeoutNanoseconds: UInt64, clock: () -> UInt64, wait: (UInt64) -> Bool
  ) -> Bool {
    if frameReady { return true }
    guard stopped == nil else { return false }
    let start = clock()
    let deadline = start &+ min(timeoutNanoseconds, UInt64.max - start)
    waiters += 1
    if waiters == 1 { receiveQueue.suppressesInterrupts = false }
    defer {
      waiters -= 1
      if waiters == 0 && stopped == nil { receiveQueue.suppressesInterrupts = true }
    }
    while stopped == nil {
      // The device reads the flag just written before this reads its index: a frame
      // that comes after the look below interrupts.
      memory.fence()
      if receiveQueue.hasUsed { return true }
      let now = clock()
      guard now < deadline else { return false }
      guard wait(deadline - now) else { return frameReady }
      counters.interrupts += 1
    }
    return false
  }

  /// After a legacy (INTx) interrupt: reads, and so clears, the ISR status, which lowers
  /// the line. With MSI-X it is not needed.
  public func interruptArrived() -> InterruptStatus { transport.readInterruptStatus() }

  // MARK: Stopping

  /// Resets the device, which then holds no buffer: every buffer posted or queued is
  /// the caller's again, and this driver takes no more. Stops the domain if the device
  /// does not finish resetting (`resetDroppingBuffers`).
  public func stop(because reason: VirtioNetworkError) {
    guard stopped == nil else { return }
    transport.resetDroppingBuffers()
    stopped = reason
  }

  // MARK: Queues

  /// Adds a one-buffer chain; any refusal but a full queue means the queue failed
  /// before, for a device that broke the protocol.
  private func add(_ buffer: VirtQueueBuffer, to queue: VirtQueue<Memory>, _ which: NetworkQueue)
    throws(VirtioNetworkError) -> UInt16
  {
    do {
      return try queue.add(CollectionOfOne(buffer))
    } catch .full {
      throw .queueFull
    } catch {
      try fail(which, error)
    }
  }

  /// The next chain the device gave back, its descriptor free again at once (unless
  /// not `releasing`: a lost completion's descriptor stays taken): the caller takes its
  /// buffer back before anything else can be posted.
  private func takeUsed(
    from queue: VirtQueue<Memory>, _ which: NetworkQueue, releasing: Bool = true
  ) throws(VirtioNetworkError) -> UsedChain? {
    if let stopped { throw stopped }
    let used: UsedChain?
    do {
      used = try queue.nextUsed()
    } catch {
      try fail(which, error)
    }
    if let used, releasing { queue.release(used.id) }
    return used
  }

  /// Acts out a device that wrote a bogus id or length into the next used entry of
  /// `which` queue (`VirtQueue.corruptNextUsed`), for a fault campaign: the next take refuses it as a
  /// protocol breach and resets the device. Nothing if no entry is there yet.
  public func simulateBogusCompletion(on which: NetworkQueue) {
    guard stopped == nil else { return }
    let queue = which == .receive ? receiveQueue : transmitQueue
    queue.corruptNextUsed()
  }

  private func fail(_ which: NetworkQueue, _ error: VirtQueueError) throws(VirtioNetworkError)
    -> Never
  {
    switch which {
    case .receive: counters.receiveErrors += 1
    case .transmit: counters.transmitErrors += 1
    }
    let reason = VirtioNetworkError.deviceMisbehaved(which, error)
    stop(because: reason)
    throw reason
  }
}

/// A receive buffer the device gave back: its id from `postReceive`, and the length of
/// the frame after the header, or nil if what the device wrote is too short to be a
/// frame (dropped, and counted as a receive error): the buffer is empty again.
public struct ReceivedBuffer: Equatable, Sendable {
  public let id: UInt16
  public let frameLength: Int?

  public init(id: UInt16, frameLength: Int?) {
    self.id = id
    self.frameLength = frameLength
  }
}

/// What a virtio-net driver counted: carried from one driver of a device to the next
/// one that takes over after a reset.
public struct VirtioNetworkCounters: Equatable, Sendable {
  public var receivedFrames: UInt64 = 0
  public var receivedBytes: UInt64 = 0
  public var sentFrames: UInt64 = 0
  public var sentBytes: UInt64 = 0
  /// Frames too short to hold an Ethernet header, and receive-queue protocol breaches.
  public var receiveErrors: UInt64 = 0
  /// Frames refused for their length, and transmit-queue protocol breaches.
  public var transmitErrors: UInt64 = 0
  /// Interrupts that woke a wait for frames.
  public var interrupts: UInt64 = 0
  /// Device resets: one per driver set up.
  public var resets: UInt64 = 0

  public init() {}
}

/// Where the driver's DMA memory holds what: the receive queue's rings, then the
/// transmit queue's, both of the same size.
public struct VirtioNetworkMemoryLayout: Equatable, Sendable {
  /// Entries per queue at most: a power of two.
  public let queueSize: Int
  public let receiveQueue: Int
  public let transmitQueue: Int
  public let byteCount: Int

  public init(queueSize: Int) {
    let size = VirtQueueLayout.largestSize(notAbove: queueSize)
    let queue = VirtQueueLayout(size: size)!
    self.queueSize = size
    receiveQueue = 0
    transmitQueue = (queue.byteCount + 15) & ~15
    byteCount = transmitQueue + queue.byteCount
  }
}
