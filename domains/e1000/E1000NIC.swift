/// The NIC this domain drives: the 82540EM found, mapped and started, and the packet
/// buffers it holds, kept in ring order.
///
/// The driver core (domains/lib/e1000) gives buffers back in exactly the order they
/// were handed to the device, on each ring. So the buffers the device holds wait here in
/// two deques in that same order, and a completion is always about the front one: no
/// table of which buffer sits at which descriptor, and no way for the device to name a
/// buffer it was not given. Each RX descriptor points at a buffer's frame in place
/// (zero-copy), each TX descriptor at the frame to send.
import DeviceAccess
import E1000
import Registers
import SwiftletInterfaces
import SwiftletLib

typealias Driver = E1000Device<MMIOWindow, DMABuffer>
/// Packet buffers in ring order; one more slot than a ring of 64 holds.
typealias HeldBuffers = RRefDeque<PacketBuffer, 64>
/// What the NetworkDevice interface moves.
typealias PacketBatch = RRefDeque<PacketBuffer, 32>

final class E1000NIC {
  /// Descriptors per ring: each holds 63 buffers (one descriptor always stays empty).
  static let ringSize = 64
  /// ITR: 0 asks for no throttling. QEMU still keeps 128 us between interrupts unless
  /// the device has `mitigation=off`.
  static let interruptThrottle: UInt32 = 0

  let device: Device
  let driver: Driver
  /// The buffers the device holds, oldest first, as on each ring.
  private let receiving: HeldBuffers
  private let sending: HeldBuffers
  /// How many buffers at the front of `sending` the transmit watchdog took back from
  /// the device unsent: they go back `.deviceError` before anything else.
  private var abandoned = 0

  private init(
    device: Device, driver: Driver, receiving: consuming HeldBuffers, sending: consuming HeldBuffers
  ) {
    self.device = device
    self.driver = driver
    self.receiving = receiving
    self.sending = sending
  }

  /// Finds, checks, maps and starts the device, or says in words why there is none.
  static func start() -> Result<E1000NIC, NICProblem> {
    let device: Device
    switch Device.claim() {
    case .success(let claimed): device = claimed
    case .failure(let error): return .failure(NICProblem("\(error.message)"))
    }
    let vendor = UInt16(truncatingIfNeeded: device.configRead(at: 0, width: 2) ?? 0xFFFF)
    let product = UInt16(truncatingIfNeeded: device.configRead(at: 2, width: 2) ?? 0xFFFF)
    guard vendor == Driver.vendorID && product == Driver.deviceID else {
      return .failure(
        NICProblem(E1000Error.notAnE1000(vendorID: vendor, deviceID: product).message))
    }
    guard let bar = device.bar(0), let registers = E1000Registers(fitting: bar) else {
      return .failure(NICProblem(E1000Error.registersUnreachable.message))
    }
    // A crashed instance may have left the device receiving into buffers that are gone.
    Driver.stopDMA(registers)
    guard device.startDMA() else {
      return .failure(NICProblem("the kernel refuses the device DMA"))
    }
    guard let layout = E1000MemoryLayout(receiveRingSize: ringSize, transmitRingSize: ringSize),
      let memory = DMABuffer(byteCount: layout.byteCount),
      let receiving = HeldBuffers(), let sending = HeldBuffers()
    else { return .failure(NICProblem("no shared memory for the rings")) }
    do {
      let driver = try Driver(
        registers: registers, memory: memory, layout: layout, interruptThrottle: interruptThrottle)
      return .success(
        E1000NIC(device: device, driver: driver, receiving: receiving, sending: sending))
    } catch {
      return .failure(NICProblem(error.message))
    }
  }

  // MARK: Receive

  /// Gives back, in `batch`, the frames received (oldest first), then the empty buffers
  /// of `batch` the ring has no room for; posts the others. Frames come first only while
  /// there is room for them beside the empties: once an empty buffer is left over, no
  /// more frames are taken, so none comes back behind it.
  func receive(_ batch: borrowing PacketBatch) {
    let given = batch.count
    while batch.count < batch.capacity, takeFrame(into: batch) {}
    var takingFrames = true
    for _ in 0..<given {
      guard let empty = batch.popFront() else { break }
      // A frame taken first frees a descriptor for the empty buffer.
      if takingFrames { _ = takeFrame(into: batch) }
      if let leftOver = post(empty) {
        leftOver.update { $0.status = .empty }
        _ = batch.pushBack(leftOver)  // there is room: it was just taken out
        takingFrames = false
      }
    }
    if takingFrames {
      while batch.count < batch.capacity, takeFrame(into: batch) {}
    }
    driver.publishReceive()
    // A test may plan a crash here, with empty buffers posted to the device.
    FaultInjection.checkpoint(.frameReceive)
  }

  /// Moves the next received frame's buffer to the back of `batch` (which has room);
  /// false if the device has none ready. A buffer the device filled with something to
  /// drop goes back to the ring at once; after a ring's worth of those it stops looking
  /// (a device that marks every descriptor done, whatever the tail says, would otherwise
  /// keep it here for ever).
  ///
  /// Each completion passes `FaultPoint.frameCompletion`, where a fault campaign may plan
  /// a bogus one (a length or error bit the driver refuses: the frame is dropped and
  /// counted) or a wrong result (one byte past the Ethernet header flipped, and the frame
  /// delivered).
  private func takeFrame(into batch: borrowing PacketBatch) -> Bool {
    for _ in 0..<Self.ringSize {
      let fault = driver.frameReady ? FaultInjection.simulatedFault(at: .frameCompletion) : nil
      if fault == .bogusCompletion { driver.simulateBogusReceive() }
      guard let outcome = driver.takeReceived() else { return false }
      guard let buffer = receiving.popFront() else {
        preconditionFailure("e1000: the receive ring and the held buffers disagree")
      }
      guard case .frame(let length) = outcome else {
        if post(buffer) != nil { preconditionFailure("e1000: a dropped buffer could not go back") }
        continue
      }
      let flipped = fault == .wrongResult ? wrongByte(in: length) : nil
      buffer.update {
        $0.length = UInt16(length)
        $0.status = .received
        $0.datagram = .none
        if let flipped { $0.frame[flipped] ^= 0xFF }
      }
      _ = batch.pushBack(buffer)
      return true
    }
    return false
  }

  /// Which byte a planned wrong result flips in a frame of `length` bytes: one past the
  /// Ethernet header, a different one from frame to frame; nil if there is none.
  private func wrongByte(in length: Int) -> Int? {
    guard length > Driver.minimumFrameLength else { return nil }
    let past = UInt64(length - Driver.minimumFrameLength)
    return Driver.minimumFrameLength + Int(driver.counters.receivedFrames % past)
  }

  /// Hands `buffer` to the device to receive into, at the ring's tail; gives it back if
  /// the ring is full.
  private func post(_ buffer: consuming RRef<PacketBuffer>) -> RRef<PacketBuffer>? {
    guard driver.receiveRoom > 0,
      let frame = buffer.dmaRegion?.subregion(
        at: PacketBuffer.frameOffset, count: Driver.receiveBufferBytes)
    else { return buffer }
    buffer.update {
      $0.length = 0
      $0.status = .empty
    }
    guard driver.postReceive(frame) else { return buffer }
    if receiving.pushBack(buffer) != nil {
      preconditionFailure("e1000: more buffers posted than the receive ring holds")
    }
    return nil
  }

  // MARK: Transmit

  /// Hands the frames in `batch` to the device and gives back, in `batch`, those it
  /// refused (`.badLength`, or `.empty` if the ring is full) and every buffer the device
  /// finished with (`.sent` or `.deviceError`). A transmit unit whose oldest frame has
  /// not moved for `Driver.transmitTimeout` is restarted (the transmit watchdog), and
  /// the frames it held go back `.deviceError`.
  func transmit(_ batch: borrowing PacketBatch) {
    let given = batch.count
    let now = DomainKernel.nanoseconds
    // Earlier frames the device finished make room on the ring.
    while batch.count < batch.capacity, takeSent(into: batch) {}
    watchTransmit(now: now)
    for _ in 0..<given {
      guard let frame = batch.popFront() else { break }
      if let refused = queue(frame, at: now) { _ = batch.pushBack(refused) }
    }
    driver.publishTransmit()
    // A test may plan a crash here, with frames handed to the device.
    FaultInjection.checkpoint(.frameTransmit)
    while batch.count < batch.capacity, takeSent(into: batch) {}
  }

  /// Restarts the transmit unit if it stopped moving; the frames it held wait at the
  /// front of `sending` to go back.
  private func watchTransmit(now: UInt64) {
    guard abandoned == 0, let count = driver.watchTransmit(now: now) else { return }
    abandoned = count
    DomainKernel.log(
      "e1000: the transmit unit stopped moving; restarted it, \(count) frames not sent")
  }

  /// Hands `frame` to the device, queued `now`; gives it back, with why, if it is not
  /// taken.
  private func queue(_ frame: consuming RRef<PacketBuffer>, at now: UInt64) -> RRef<PacketBuffer>? {
    // A length past the frame's room is cut to it, which the driver then refuses as
    // longer than a frame.
    let length = min(Int(frame.read { $0.length }), FrameBytes.count)
    guard let region = frame.dmaRegion?.subregion(at: PacketBuffer.frameOffset, count: length)
    else {
      frame.update { $0.status = .deviceError }
      return frame
    }
    // Frames the watchdog took back wait in `sending` too, until they go back.
    guard !sending.isFull else {
      frame.update { $0.status = .empty }
      return frame
    }
    switch driver.queueTransmit(region, at: now) {
    case .queued:
      if sending.pushBack(frame) != nil {
        preconditionFailure("e1000: more frames queued than the transmit ring holds")
      }
      return nil
    case .badLength:
      frame.update { $0.status = .badLength }
      return frame
    case .noRoom:
      frame.update { $0.status = .empty }
      return frame
    }
  }

  /// Moves the oldest frame the device finished (or the watchdog took back) to the back
  /// of `batch` (which has room); false if there is none. Each completion passes
  /// `FaultPoint.transmitCompletion`, where a fault campaign may plan a lost one: the
  /// library clears its done bit, and the ring stops there until the watchdog acts.
  private func takeSent(into batch: borrowing PacketBatch) -> Bool {
    let outcome: TransmitOutcome?
    if abandoned > 0 {
      abandoned -= 1
      outcome = .failed(TransmitStatus(raw: 0))
    } else {
      outcome = driver.takeTransmitted(losing: {
        FaultInjection.simulatedFault(at: .transmitCompletion) == .lostCompletion
      })
    }
    guard let outcome else { return false }
    guard let buffer = sending.popFront() else {
      preconditionFailure("e1000: the transmit ring and the held buffers disagree")
    }
    buffer.update { $0.status = outcome == .sent ? .sent : .deviceError }
    _ = batch.pushBack(buffer)
    return true
  }

  // MARK: Waiting

  /// Waits for a frame for `timeoutNanoseconds` at most; says whether one is ready.
  /// The domain is given back while the device is waited for.
  func waitForFrames(timeoutNanoseconds: UInt64) -> Bool {
    let device = self.device
    return driver.waitForFrames(
      timeoutNanoseconds: timeoutNanoseconds, clock: { DomainKernel.nanoseconds },
      wait: { remaining in
        switch device.waitForInterrupt(timeoutNanoseconds: remaining) {
        case .interrupted: return .interrupted
        case .timedOut: return .timedOut
        case nil:
          DomainThread.sleep(nanoseconds: min(remaining, E1000NIC.pollInterval))
          return .polled
        }
      })
  }

  /// How long a waiter sleeps between looks when the device has no interrupt.
  static let pollInterval: UInt64 = 1_000_000
}

extension RRefDeque where T == PacketBuffer {
  var capacity: Int { N }
}

/// Why the domain has no NIC, for the log.
struct NICProblem: Error {
  let message: String
  init(_ message: String) { self.message = message }
}
