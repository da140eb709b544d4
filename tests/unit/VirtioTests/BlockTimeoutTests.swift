/// Tests of a wait for the disk that gives up, and of the device faults a fault campaign
/// has the driver act out as it takes a completion: the last look before the reset, a
/// completion lost or made bogus, and the device reset before anything goes back.
import Registers
import Testing
import Virtio

struct BlockTimeoutTests {
  @Test func aCompletionThatComesAsTheWaitGivesUpIsTakenWithoutAReset() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    var waits = 0
    let (log, thrown) = bed.readBatch([4, 5]) {
      waits += 1
      bed.device.process()
      return false  // the deadline passed just as the device completed
    }
    #expect(thrown == nil && waits == 1)
    #expect(!bed.deviceWasReset)
    #expect(log.outcomes.count == 2 && log.outcomes.values.allSatisfy { $0 == nil })
    #expect(bed.holds([4, 5]))
  }

  @Test func completionsAnotherCallTookDuringTheWaitAreFoundAfterItGivesUp() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    // While the first batch waits (the domain is given back), a second call's poll takes
    // every completion from the ring, the first batch's too; then the first one's wait
    // runs out without an interrupt of its own.
    var inner: (BatchLog, VirtioBlockError?)?
    let (outer, thrown) = bed.readBatch([1, 2]) {
      inner = bed.readBatch([3], intoBuffersFrom: 8) { bed.device.process() > 0 }
      return false
    }
    #expect(thrown == nil && inner?.1 == nil)
    #expect(!bed.deviceWasReset)
    #expect(outer.outcomes.count == 2 && outer.outcomes.values.allSatisfy { $0 == nil })
    #expect(bed.holds([1, 2]) && bed.holds([3], fromBuffer: 8))
  }

  @Test func aDeviceThatNeverCompletesCostsOneWaitAndAReset() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    var waits = 0
    let (log, thrown) = bed.readBatch([0, 1, 2]) {
      waits += 1
      return false
    }
    #expect(thrown == .timedOut && waits == 1)
    #expect(bed.deviceWasReset && log.errorsBeforeReset == 0)
    #expect(log.outcomes.count == 3 && log.outcomes.values.allSatisfy { $0 == .timedOut })
    // Reset, the device forgot the requests: they never land in the buffers.
    #expect(bed.device.process() == 0 && bed.buffer(0).allSatisfy { $0 == 0 })
  }

  @Test func theFaultHookIsAskedOncePerCompletionAndOnlyWhenThereIsOne() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    var asked = 0
    var waits = 0
    let (log, thrown) = bed.readBatch(
      Array(0..<6),
      faults: {
        asked += 1
        return nil
      },
      waiting: {
        waits += 1
        return bed.device.process(limit: 2) > 0
      })
    #expect(thrown == nil && waits == 3)
    #expect(asked == 6)
    #expect(log.outcomes.values.allSatisfy { $0 == nil } && bed.holds(Array(0..<6)))
  }

  @Test func aLostCompletionLeavesItsRequestOutUntilTheWaitGivesUp() throws {
    let bed = try BlockTestBed()
    var asked = 0
    var waits = 0
    let (log, thrown) = bed.readBatch(
      [0, 1, 2],
      faults: {
        asked += 1
        return asked == 2 ? .lost : nil
      },
      waiting: {
        waits += 1
        return false
      })
    #expect(thrown == .timedOut)
    #expect(asked == 3 && waits == 1)
    #expect(bed.deviceWasReset && log.errorsBeforeReset == 0)
    #expect(log.outcomes[0] == .some(nil) && log.outcomes[2] == .some(nil))
    #expect(log.outcomes[1] == .timedOut)
    #expect(bed.holds([0], fromBuffer: 0) && bed.holds([2], fromBuffer: 2))
    #expect(bed.driver.requestsInFlight == 0 && bed.driver.uncollectedCount == 0)
  }

  @Test func aBogusCompletionIsRefusedAsTheDevicesOwnWouldBe() throws {
    let bed = try BlockTestBed()
    var asked = 0
    var waits = 0
    let (log, thrown) = bed.readBatch(
      [0, 1, 2, 3],
      faults: {
        asked += 1
        return asked == 3 ? .bogus : nil
      },
      waiting: {
        waits += 1
        return true
      })
    // At used index 2, an even one: the id.
    let misbehaved = VirtioBlockError.deviceMisbehaved(
      .deviceMisbehaved(.usedIDOutOfRange(UInt32(bed.driver.queueSize))))
    #expect(thrown == misbehaved && waits == 0)
    #expect(bed.deviceWasReset && log.errorsBeforeReset == 0)
    #expect(log.outcomes[0] == .some(nil) && log.outcomes[1] == .some(nil) && bed.holds([0, 1]))
    #expect(log.outcomes[2] == misbehaved && log.outcomes[3] == misbehaved)
    #expect(bed.driver.stopped == misbehaved)
  }

  @Test func aBogusCompletionAtAnOddUsedIndexHasABogusLength() throws {
    let bed = try BlockTestBed()
    try bed.driver.read(block: 0, into: bed.region(0), waiting: { true })
    var asked = 0
    #expect(
      throws: VirtioBlockError.deviceMisbehaved(
        .deviceMisbehaved(.usedLengthTooLong(id: 3, length: .max, writable: 4097)))
    ) {
      try bed.driver.perform(
        .read(block: 1, into: bed.region(1)), waiting: { true },
        faults: {
          asked += 1
          return .bogus
        })
    }
    #expect(asked == 1 && bed.deviceWasReset)
  }
}
