/// Tests of the 82540EM transmit watchdog and of the device faults a fault campaign has
/// the driver act out: a transmit unit that stops moving is restarted alone (receive goes
/// on, RCTL untouched), its frames come back to the caller and are never read again, a
/// lost completion stops the ring for the watchdog, and a bogus write-back is dropped.
import E1000
import Registers
import Testing

struct WatchdogTests {
  static let timeout = Driver.transmitTimeout

  /// A test bed whose device keeps transmit descriptors until told, with frames in
  /// buffers `indices` queued at `time` and published.
  private func stalledBed(queuing indices: Range<Int>, at time: UInt64) throws -> E1000TestBed {
    let device = SimulatedE1000()
    device.completesTransmitAtOnce = false
    let bed = try E1000TestBed(device)
    for index in indices {
      #expect(
        bed.driver.queueTransmit(bed.frame(testFrame(length: 64), in: index), at: time) == .queued)
    }
    bed.driver.publishTransmit()
    return bed
  }

  @Test func aTransmitUnitThatStopsMovingIsRestartedAlone() throws {
    let start: UInt64 = 3_000_000_000
    let bed = try stalledBed(queuing: 0..<3, at: start)
    bed.post(40..<44)
    let controlWrites = bed.device.writes(to: Offset.receiveControl).count
    #expect(bed.driver.watchTransmit(now: start + Self.timeout) == nil)
    #expect(bed.driver.watchTransmit(now: start + Self.timeout + 1) == 3)
    #expect(bed.driver.transmitFramesQueued == 0 && bed.driver.transmitRoom == 63)
    #expect(bed.driver.counters.transmitErrors == 1 && bed.driver.counters.resets == 2)
    // TCTL off first, then the ring from scratch, then TCTL on; RCTL never written.
    let transmitControl = bed.device.writes(to: Offset.transmitControl)
    #expect(transmitControl.suffix(2).first == 0 && transmitControl.last! & 2 != 0)
    #expect(bed.device.register(Offset.transmitHead) == 0)
    #expect(bed.device.register(Offset.transmitTail) == 0)
    #expect(bed.device.writes(to: Offset.receiveControl).count == controlWrites)
    // The frames went back to the caller, who may free them: the device never reads them.
    bed.buffers.write([UInt8](repeating: 0xEE, count: 3 * 2048), at: 0)
    bed.device.completesTransmitAtOnce = true
    #expect(bed.driver.queueTransmit(bed.frame(testFrame(length: 70, seed: 5), in: 10)) == .queued)
    bed.driver.publishTransmit()
    #expect(bed.device.sent == [testFrame(length: 70, seed: 5)])
    #expect(bed.transmitted() == [.sent])
    // Receive went on all along.
    bed.device.receive(testFrame(length: 60))
    #expect(bed.received() == [.frame(length: 60)])
  }

  @Test func aFrameDoneButNotTakenBackIsMoving() throws {
    let bed = try stalledBed(queuing: 0..<2, at: 0)
    bed.device.completeTransmits()
    #expect(bed.driver.watchTransmit(now: 10 * Self.timeout) == nil)
    #expect(bed.transmitted() == [.sent, .sent])
    #expect(bed.driver.watchTransmit(now: 20 * Self.timeout) == nil)
  }

  @Test func theOldestFrameDecides() throws {
    let bed = try stalledBed(queuing: 0..<1, at: 0)
    bed.device.completeTransmits()
    #expect(bed.transmitted() == [.sent])
    #expect(
      bed.driver.queueTransmit(bed.frame(testFrame(length: 64), in: 1), at: Self.timeout) == .queued
    )
    bed.driver.publishTransmit()
    #expect(bed.driver.watchTransmit(now: Self.timeout + 2) == nil)
    #expect(bed.driver.watchTransmit(now: 2 * Self.timeout + 1) == 1)
  }

  @Test func aLostCompletionStopsTheRingUntilTheWatchdog() throws {
    let bed = try E1000TestBed()
    for index in 0..<2 {
      #expect(
        bed.driver.queueTransmit(bed.frame(testFrame(length: 64), in: index), at: 0) == .queued)
    }
    bed.driver.publishTransmit()
    var asked = 0
    #expect(
      bed.driver.takeTransmitted(losing: {
        asked += 1
        return true
      }) == nil)
    // As if the device never wrote the status back: no later look finds it done.
    #expect(bed.transmitted().isEmpty && asked == 1)
    #expect(bed.driver.watchTransmit(now: Self.timeout + 1) == 2)
    #expect(bed.driver.transmitFramesQueued == 0)
  }

  @Test func aBogusWriteBackIsDroppedAndCounted() throws {
    let bed = try E1000TestBed()
    bed.post(0..<4)
    bed.driver.simulateBogusReceive()  // nothing done yet: nothing happens
    for seed in 0..<3 { bed.device.receive(testFrame(length: 80, seed: UInt8(seed))) }
    bed.driver.simulateBogusReceive()
    #expect(bed.driver.takeReceived() == .dropped(.badLength(0xFFFF)))
    bed.driver.simulateBogusReceive()
    #expect(bed.driver.takeReceived() == .dropped(.deviceError(ReceiveErrors(raw: 0x80))))
    #expect(bed.driver.takeReceived() == .frame(length: 80))
    #expect(bed.driver.counters.receiveErrors == 2 && bed.driver.counters.receivedFrames == 1)
  }
}
