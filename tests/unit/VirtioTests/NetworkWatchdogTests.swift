/// Tests of the virtio-net transmit watchdog and of the device faults a fault campaign
/// has the driver act out: a device that keeps a frame past the timeout is reset, one
/// with sent frames not yet taken back is moving, a lost completion keeps its frame for
/// the watchdog, and a bogus completion is refused as the device's own would be.
import Registers
import Testing
import Virtio

struct NetworkWatchdogTests {
  static let timeout = NetworkDriver.transmitTimeout

  /// A test bed with frames in buffers `indices` queued at `time` and published.
  private func bed(queuing indices: Range<Int>, at time: UInt64) throws -> NetworkTestBed {
    let bed = try NetworkTestBed()
    for index in indices {
      bed.write(testFrame(length: 60, seed: UInt8(index)), into: index)
      _ = try bed.driver.queueTransmit(bed.region(index, frameLength: 60), at: time)
    }
    bed.driver.publishTransmit()
    return bed
  }

  @Test func aFrameKeptPastTheTimeoutResetsTheDevice() throws {
    let start: UInt64 = 7_000_000_000
    let bed = try bed(queuing: 0..<2, at: start)
    #expect(bed.driver.framesHeld == 2)
    #expect(!bed.driver.watchTransmit(now: start + Self.timeout))
    #expect(bed.driver.stopped == nil)
    #expect(bed.driver.watchTransmit(now: start + Self.timeout + Self.timeout / 4))
    #expect(bed.driver.stopped == .transmitStalled)
    #expect(bed.deviceWasReset)
    #expect(bed.driver.counters.transmitErrors == 1)
    // Reset, the device dropped the frames: none of them goes out.
    #expect(bed.device.sendQueued() == 0 && bed.device.sent.isEmpty)
    #expect(throws: VirtioNetworkError.transmitStalled) { try bed.driver.takeTransmitted() }
  }

  @Test func aStallIsSeenWithinAQuarterTimeoutOfBeingOne() throws {
    let bed = try bed(queuing: 0..<1, at: 0)
    #expect(!bed.driver.watchTransmit(now: Self.timeout - 1))
    // The next look is a quarter timeout after the last one.
    #expect(!bed.driver.watchTransmit(now: Self.timeout + 1))
    #expect(bed.driver.watchTransmit(now: Self.timeout - 1 + Self.timeout / 4))
  }

  @Test func aDeviceWithSentFramesNotYetTakenBackIsMoving() throws {
    let bed = try bed(queuing: 0..<3, at: 0)
    #expect(bed.device.sendQueued() == 3)
    #expect(!bed.driver.watchTransmit(now: 10 * Self.timeout))
    #expect(try bed.transmitted().count == 3)
    #expect(bed.driver.framesHeld == 0)
    #expect(!bed.driver.watchTransmit(now: 20 * Self.timeout))
    #expect(bed.driver.stopped == nil && bed.driver.counters.sentFrames == 3)
  }

  @Test func aLostCompletionKeepsItsFrameForTheWatchdog() throws {
    let bed = try bed(queuing: 0..<3, at: 0)
    bed.device.sendQueued()
    var asked = 0
    var taken: [UInt16] = []
    while let id = try bed.driver.takeTransmitted(losing: {
      asked += 1
      return asked == 2
    }) {
      taken.append(id)
    }
    #expect(asked == 3 && taken.count == 2)
    // The lost one is held, its descriptor still taken, as if the device had it.
    #expect(bed.driver.framesHeld == 1 && bed.driver.transmitRoom == 15)
    #expect(bed.driver.counters.sentFrames == 2)
    #expect(bed.driver.watchTransmit(now: Self.timeout + 1))
    #expect(bed.driver.stopped == .transmitStalled)
  }

  @Test func theFrameTimesAreWhenEachWasQueued() throws {
    let bed = try bed(queuing: 0..<1, at: 0)
    bed.device.sendQueued()
    #expect(try bed.transmitted().count == 1)
    bed.write(testFrame(length: 60, seed: 9), into: 1)
    _ = try bed.driver.queueTransmit(bed.region(1, frameLength: 60), at: Self.timeout)
    bed.driver.publishTransmit()
    // The first frame's time no longer counts: it came back.
    #expect(!bed.driver.watchTransmit(now: Self.timeout + 2))
    #expect(bed.driver.watchTransmit(now: 2 * Self.timeout + 1))
  }

  @Test func aBogusReceiveCompletionIsRefusedAndResetsTheDevice() throws {
    let bed = try NetworkTestBed()
    try bed.post(0..<4)
    bed.driver.simulateBogusCompletion(on: .receive)  // nothing there yet: nothing happens
    bed.device.receive(testFrame(length: 60, seed: 1))
    bed.driver.simulateBogusCompletion(on: .receive)
    let error = VirtioNetworkError.deviceMisbehaved(
      .receive, .deviceMisbehaved(.usedIDOutOfRange(16)))
    #expect(throws: error) { try bed.driver.takeReceived() }
    #expect(bed.driver.stopped == error && bed.deviceWasReset)
    #expect(bed.driver.counters.receiveErrors == 1)
  }

  @Test func aBogusTransmitCompletionAtAnOddIndexHasABogusLength() throws {
    let bed = try bed(queuing: 0..<2, at: 0)
    bed.device.sendQueued()
    #expect(try bed.driver.takeTransmitted() != nil)
    bed.driver.simulateBogusCompletion(on: .transmit)
    #expect(throws: VirtioNetworkError.self) { try bed.driver.takeTransmitted() }
    guard
      case .deviceMisbehaved(.transmit, .deviceMisbehaved(.usedLengthTooLong(_, let length, 0))) =
        bed.driver.stopped
    else {
      Issue.record("stopped for \(String(describing: bed.driver.stopped))")
      return
    }
    #expect(length == .max)
  }
}
