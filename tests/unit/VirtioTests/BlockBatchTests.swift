/// Tests of batches waited for (`perform(batchOf:...)`): each request gets exactly its
/// own completion, however the device orders, repeats or withholds them, and a batch
/// returns only once the device holds none of its buffers.
import Registers
import Testing
import Virtio

/// What one batch saw: each request's outcome by index, in the order they came, and
/// whether the device had been reset when an error was reported.
final class BatchLog {
  var outcomes: [Int: VirtioBlockError?] = [:]
  var order: [Int] = []
  var errorsBeforeReset = 0

  func record(_ index: Int, _ error: VirtioBlockError?, _ bed: BlockTestBed) {
    #expect(outcomes[index] == nil, "request \(index) reported twice")
    outcomes[index] = error
    order.append(index)
    if error != nil && !bed.deviceWasReset { errorsBeforeReset += 1 }
  }
}

extension BlockTestBed {
  /// Reads `blocks` into buffers `firstBuffer...` as one batch, `waiting` standing in
  /// for the interrupt and `faults` for a fault campaign. Returns the log and what the
  /// batch threw.
  func readBatch(
    _ blocks: [Int], intoBuffersFrom firstBuffer: Int = 0,
    faults: () -> CompletionFault? = { nil }, waiting: () -> Bool
  ) -> (BatchLog, VirtioBlockError?) {
    let log = BatchLog()
    do throws(VirtioBlockError) {
      try driver.perform(
        batchOf: blocks.count,
        request: { .read(block: UInt64(blocks[$0]), into: region(firstBuffer + $0)) },
        completed: { log.record($0, $1, self) }, waiting: waiting, faults: faults)
      return (log, nil)
    } catch {
      return (log, error)
    }
  }

  /// Whether buffers `firstBuffer...` hold `blocks` as the disk has them.
  func holds(_ blocks: [Int], fromBuffer firstBuffer: Int = 0) -> Bool {
    blocks.indices.allSatisfy { buffer(firstBuffer + $0) == device.block(blocks[$0]) }
  }
}

struct BlockBatchTests {
  @Test func outOfOrderCompletionsReachTheirOwnRequests() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    bed.device.completesInReverse = true
    let blocks = [5, 9, 2, 7, 0, 11, 3, 8]
    var waits = 0
    let (log, thrown) = bed.readBatch(blocks) {
      waits += 1
      // Three at a time, each group backwards.
      return bed.device.process(limit: 3) > 0
    }
    #expect(thrown == nil)
    #expect(waits == 3)
    #expect(log.outcomes.count == 8 && log.outcomes.values.allSatisfy { $0 == nil })
    #expect(log.order == [2, 1, 0, 5, 4, 3, 7, 6])
    #expect(bed.holds(blocks))
    #expect(bed.driver.requestsInFlight == 0 && bed.driver.uncollectedCount == 0)
  }

  @Test func refusedRequestsAreReportedWithoutReachingTheDevice() throws {
    let bed = try BlockTestBed(SimulatedBlockDevice(sectors: 16 * 8))
    let log = BatchLog()
    try bed.driver.perform(
      batchOf: 4,
      request: { index in
        switch index {
        case 0: .read(block: 1, into: bed.region(0))
        case 1: .read(block: 16, into: bed.region(1))
        case 2: nil
        default: .read(block: 3, into: bed.region(3))
        }
      },
      completed: { log.record($0, $1, bed) }, waiting: { bed.device.process() > 0 })
    #expect(log.outcomes[0] == .some(nil) && log.outcomes[3] == .some(nil))
    #expect(log.outcomes[1] == .outOfRange(block: 16, blockCount: 16))
    #expect(log.outcomes[2] == .invalidBuffer)
    #expect(bed.device.requestsSeen == 2)
  }

  @Test func aBatchWaitingWhileAnotherRunsGetsOnlyItsOwnCompletions() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    let first = Array(0..<8)
    let second = Array(20..<28)
    var inner: (BatchLog, VirtioBlockError?)?
    var outerWaits = 0
    // The second batch is submitted while the first waits, and the device completes
    // every request of both, the first batch's first, during the second's wait: the
    // second must take its own eight and leave the first's recorded for it.
    let (outer, outerThrown) = bed.readBatch(first) {
      outerWaits += 1
      if inner == nil {
        inner = bed.readBatch(second, intoBuffersFrom: 8) { bed.device.process() > 0 }
        return true
      }
      return bed.device.process() > 0
    }
    let (innerLog, innerThrown) = try #require(inner)
    #expect(innerThrown == nil && outerThrown == nil)
    #expect(Set(innerLog.outcomes.keys) == Set(0..<8))
    #expect(innerLog.outcomes.values.allSatisfy { $0 == nil })
    #expect(bed.holds(second, fromBuffer: 8))
    #expect(Set(outer.outcomes.keys) == Set(0..<8))
    #expect(outer.outcomes.values.allSatisfy { $0 == nil })
    #expect(bed.holds(first))
    #expect(outerWaits == 1)
    #expect(bed.driver.requestsInFlight == 0 && bed.driver.uncollectedCount == 0)
  }

  @Test func aRepeatedCompletionResetsTheDeviceBeforeAnythingGoesBack() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    let blocks = Array(0..<6)
    var waits = 0
    let (log, thrown) = bed.readBatch(blocks) {
      waits += 1
      if waits == 1 { return bed.device.process(limit: 2) > 0 }
      bed.device.repeatLastCompletion()
      return true
    }
    let misbehaved = VirtioBlockError.deviceMisbehaved(.deviceMisbehaved(.usedIDNotInFlight(3)))
    #expect(thrown == misbehaved)
    #expect(bed.deviceWasReset)
    #expect(log.errorsBeforeReset == 0)
    // The two the device finished are done and hold their blocks; the rest say why not.
    #expect(log.order.prefix(2) == [0, 1])
    #expect(bed.holds([0, 1]))
    #expect(log.outcomes.count == 6)
    #expect((2..<6).allSatisfy { log.outcomes[$0] == .some(misbehaved) })
    #expect(bed.driver.requestsInFlight == 0)
  }

  @Test func aDeviceThatNeverCompletesIsResetBeforeTheBatchReturns() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    var waits = 0
    let (log, thrown) = bed.readBatch(Array(0..<4)) {
      waits += 1
      return waits < 3
    }
    #expect(thrown == .timedOut)
    #expect(waits == 3)
    #expect(bed.deviceWasReset)
    #expect(log.errorsBeforeReset == 0)
    #expect(log.outcomes.count == 4 && log.outcomes.values.allSatisfy { $0 == .timedOut })
    // The reset device has dropped the requests: nothing of them ever arrives.
    #expect(bed.device.process() == 0)
    #expect(bed.buffer(0).allSatisfy { $0 == 0 })
    #expect(bed.driver.requestsInFlight == 0)
    #expect(throws: VirtioBlockError.timedOut) {
      try bed.driver.read(block: 0, into: bed.region(0)) { true }
    }
  }

  @Test func aRequestOfAnotherBatchCompletedTwiceIsStillAnError() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    let earlier = try bed.driver.submit(.read(block: 30, into: bed.region(10)), tag: 1)
    bed.driver.kick()
    bed.device.process()
    var waits = 0
    let (log, thrown) = bed.readBatch([1, 2]) {
      waits += 1
      if waits == 1 {
        // The earlier request, done but not yet collected, comes back again.
        bed.device.repeatLastCompletion()
        return true
      }
      return bed.device.process() > 0
    }
    let misbehaved = VirtioBlockError.deviceMisbehaved(
      .deviceMisbehaved(.usedIDNotInFlight(earlier.id)))
    #expect(thrown == misbehaved)
    #expect(log.errorsBeforeReset == 0)
    #expect(log.outcomes.values.allSatisfy { $0 == misbehaved })
    let completion = try #require(bed.driver.collect(earlier))
    #expect(completion.error == nil && bed.buffer(10) == bed.device.block(30))
  }

  @Test func aDeviceThatDoesNotResetStopsTheDomain() async {
    await #expect(processExitsWith: .failure) {
      let bed = try BlockTestBed()
      bed.device.completesOnNotify = false
      bed.device.neverFinishesReset = true
      try? bed.driver.read(block: 0, into: bed.region(0)) { false }
    }
  }

  @Test func aTicketCollectedTwiceStopsTheDomain() async {
    await #expect(processExitsWith: .failure) {
      let bed = try BlockTestBed()
      let ticket = try bed.driver.submit(.read(block: 0, into: bed.region(0)))
      bed.driver.kick()
      _ = try bed.driver.poll()
      _ = bed.driver.collect(ticket)
      _ = bed.driver.collect(ticket)
    }
  }
}
