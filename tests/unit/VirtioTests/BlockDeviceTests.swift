/// End-to-end tests of the virtio-blk driver core against the simulated device:
/// set-up, reads, writes and flushes one at a time and in batches, and the errors a
/// caller gets back as values.
import Registers
import Testing
import Virtio

/// A `waiting` closure that lets the device do its work, as an interrupt would.
private func deviceRuns(_ device: SimulatedBlockDevice) -> () -> Bool {
  { device.process() > 0 }
}

struct BlockDeviceTests {
  @Test func setUpReadsTheConfigurationAndStartsTheDevice() throws {
    let bed = try BlockTestBed(SimulatedBlockDevice(sectors: 1000, blockSize: 4096))
    #expect(bed.driver.sectorCount == 1000)
    #expect(bed.driver.blockCount == 125)
    #expect(bed.driver.preferredBlockSize == 4096)
    #expect(bed.driver.features == [.version1, .blockFlush, .blockSize, .blockSegmentMax])
    #expect(bed.driver.canFlush && !bed.driver.isReadOnly)
    #expect(bed.driver.queueSize == 128)
    #expect(bed.driver.capacity == 42)
    #expect(bed.device.status.raw == 1 | 2 | 8 | 4)
    #expect(bed.device.memory.faults.isEmpty)
  }

  @Test func anOddBlockSizeIsIgnored() throws {
    let bed = try BlockTestBed(SimulatedBlockDevice(blockSize: 1000))
    #expect(bed.driver.preferredBlockSize == 512)
  }

  @Test func aWrittenBlockReadsBack() throws {
    let bed = try BlockTestBed()
    bed.fill(0, with: 0x5A)
    try bed.driver.write(block: 7, from: bed.region(0), waiting: deviceRuns(bed.device))
    #expect(bed.device.block(7) == bed.buffer(0))
    try bed.driver.read(block: 7, into: bed.region(1), waiting: deviceRuns(bed.device))
    #expect(bed.buffer(1) == bed.buffer(0))
    try bed.driver.read(block: 3, into: bed.region(2), waiting: deviceRuns(bed.device))
    #expect(bed.buffer(2) == bed.device.block(3))
    #expect(bed.device.memory.faults.isEmpty)
  }

  @Test func theLastBlockWorksAndTheNextIsOutOfRange() throws {
    let bed = try BlockTestBed(SimulatedBlockDevice(sectors: 1030))
    #expect(bed.driver.blockCount == 128)
    try bed.driver.read(block: 127, into: bed.region(0), waiting: deviceRuns(bed.device))
    #expect(bed.buffer(0) == bed.device.block(127))
    #expect(throws: VirtioBlockError.outOfRange(block: 128, blockCount: 128)) {
      try bed.driver.read(block: 128, into: bed.region(0), waiting: deviceRuns(bed.device))
    }
    #expect(throws: VirtioBlockError.outOfRange(block: .max, blockCount: 128)) {
      try bed.driver.submit(.write(block: .max, from: bed.region(0)))
    }
    #expect(bed.device.requestsSeen == 1)
    #expect(bed.driver.requestsInFlight == 0)
  }

  @Test func aBufferThatIsNotOneBlockIsRefused() throws {
    let bed = try BlockTestBed()
    #expect(throws: VirtioBlockError.invalidBuffer) {
      try bed.driver.submit(.read(block: 0, into: bed.buffers.dmaRegion(at: 0, count: 4095)))
    }
    #expect(throws: VirtioBlockError.invalidBuffer) {
      try bed.driver.submit(.write(block: 0, from: bed.buffers.dmaRegion(at: 0, count: 8192)))
    }
    #expect(bed.driver.requestsInFlight == 0)
  }

  @Test func aReadOnlyDiskRefusesWrites() throws {
    let device = SimulatedBlockDevice()
    device.offered.insert(.blockReadOnly)
    let bed = try BlockTestBed(device)
    #expect(bed.driver.isReadOnly)
    #expect(throws: VirtioBlockError.readOnly) {
      try bed.driver.write(block: 0, from: bed.region(0), waiting: deviceRuns(device))
    }
    try bed.driver.read(block: 0, into: bed.region(0), waiting: deviceRuns(device))
    #expect(device.requestsSeen == 1)
  }

  @Test func deviceErrorsComeBackAsValues() throws {
    let device = SimulatedBlockDevice()
    device.failingSectors = [8 * 5 + 3]
    let bed = try BlockTestBed(device)
    #expect(throws: VirtioBlockError.ioError) {
      try bed.driver.read(block: 5, into: bed.region(0), waiting: deviceRuns(device))
    }
    #expect(throws: VirtioBlockError.ioError) {
      try bed.driver.write(block: 5, from: bed.region(0), waiting: deviceRuns(device))
    }
    try bed.driver.read(block: 6, into: bed.region(0), waiting: deviceRuns(device))
  }

  @Test func flushReachesTheDeviceOnlyWhenItCaches() throws {
    let bed = try BlockTestBed()
    try bed.driver.flush(waiting: deviceRuns(bed.device))
    #expect(bed.device.flushes == 1)
    let device = SimulatedBlockDevice()
    device.offered.remove(.blockFlush)
    let writeThrough = try BlockTestBed(device)
    #expect(!writeThrough.driver.canFlush)
    try writeThrough.driver.flush(waiting: deviceRuns(device))
    #expect(device.flushes == 0 && device.requestsSeen == 0)
    #expect(throws: VirtioBlockError.unsupported) { try writeThrough.driver.submit(.flush) }
  }

  @Test func aBatchOf32GoesOutWithOneNotification() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    var expected: [UInt64: [UInt8]] = [:]
    for index in 0..<32 {
      if index % 2 == 0 {
        bed.fill(index, with: UInt8(index))
        try bed.driver.submit(
          .write(block: UInt64(60 + index), from: bed.region(index)), tag: UInt64(index))
        expected[UInt64(index)] = bed.buffer(index)
      } else {
        try bed.driver.submit(
          .read(block: UInt64(index), into: bed.region(index)), tag: UInt64(index))
        expected[UInt64(index)] = bed.device.block(index)
      }
    }
    #expect(bed.driver.requestsInFlight == 32)
    #expect(bed.device.process() == 0)
    bed.driver.kick()
    #expect(bed.device.notifications == 1)
    #expect(try bed.driver.poll() == nil)
    #expect(bed.device.process(limit: 10) == 10)
    #expect(try bed.completions().count == 10)
    #expect(bed.device.process() == 22)
    let rest = try bed.completions()
    #expect(rest.count == 22)
    #expect(rest.allSatisfy { $0.error == nil })
    for index in 0..<32 where index % 2 == 0 {
      #expect(bed.device.block(60 + index) == expected[UInt64(index)])
    }
    for index in 0..<32 where index % 2 == 1 {
      #expect(bed.buffer(index) == expected[UInt64(index)])
    }
    #expect(bed.driver.requestsInFlight == 0)
  }

  @Test func completionsOutOfOrderCarryTheirTags() throws {
    let device = SimulatedBlockDevice()
    device.completesInReverse = true
    device.failingSectors = [0]
    let bed = try BlockTestBed(device)
    var tickets: [BlockTicket] = []
    for index in 0..<8 {
      tickets.append(
        try bed.driver.submit(
          .read(block: UInt64(index), into: bed.region(index)), tag: 1000 + UInt64(index)))
    }
    bed.driver.kick()
    let completions = try bed.completions()
    #expect(completions.map(\.tag) == (1000..<1008).reversed())
    #expect(completions.map(\.ticket) == tickets.reversed())
    #expect(completions.map(\.error) == Array(repeating: nil, count: 7) + [.ioError])
  }

  @Test func theQueueFillsAndDrains() throws {
    let bed = try BlockTestBed(maximumQueueSize: 16)
    bed.device.completesOnNotify = false
    #expect(bed.driver.capacity == 5)
    for index in 0..<5 { try bed.driver.submit(.read(block: 0, into: bed.region(index))) }
    #expect(throws: VirtioBlockError.queueFull) {
      try bed.driver.submit(.read(block: 0, into: bed.region(5)))
    }
    // A flush needs only two descriptors, and one is left.
    #expect(throws: VirtioBlockError.queueFull) { try bed.driver.submit(.flush) }
    bed.driver.kick()
    bed.device.process()
    #expect(try bed.completions().count == 5)
    try bed.driver.submit(.read(block: 0, into: bed.region(5)))
  }

  @Test func manyMoreRequestsThanQueueEntriesWrapTheRings() throws {
    let bed = try BlockTestBed(SimulatedBlockDevice(sectors: 64 * 8), maximumQueueSize: 8)
    var completed = 0
    for round in 0..<300 {
      let block = UInt64(round % 64)
      let slot = round % 2
      bed.fill(slot, with: UInt8(truncatingIfNeeded: round))
      try bed.driver.submit(.write(block: block, from: bed.region(slot)), tag: UInt64(round))
      if slot == 1 {
        bed.driver.kick()
        completed += try bed.completions().count
      }
      #expect(bed.device.block(Int(block)) == bed.buffer(slot) || slot == 0)
    }
    #expect(completed == 300)
  }

  @Test func sixteenBitIndicesWrapUnderLoad() throws {
    let bed = try BlockTestBed(maximumQueueSize: 4)
    bed.device.completesOnNotify = false
    for round in 0..<70_000 {
      try bed.driver.submit(.flush, tag: UInt64(round))
      bed.driver.kick()
      bed.device.process()
      guard let ticket = try bed.driver.poll(), bed.driver.collect(ticket)?.tag == UInt64(round)
      else {
        Issue.record("round \(round) did not complete")
        return
      }
    }
    #expect(bed.device.flushes == 70_000)
  }

  @Test func aSynchronousRequestTakesOnlyItsOwnCompletion() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    let earlier = try bed.driver.submit(.read(block: 0, into: bed.region(0)), tag: 7)
    try bed.driver.read(block: 1, into: bed.region(1)) { bed.device.process() > 0 }
    #expect(bed.buffer(1) == bed.device.block(1))
    // The earlier request completed during the wait and stayed recorded for its owner.
    #expect(bed.driver.uncollectedCount == 1)
    let completion = try #require(bed.driver.collect(earlier))
    #expect(completion.tag == 7 && completion.error == nil)
    #expect(bed.buffer(0) == bed.device.block(0))
    #expect(bed.driver.uncollectedCount == 0 && bed.driver.requestsInFlight == 0)
  }

  @Test func interruptsReportQueueActivity() throws {
    let bed = try BlockTestBed()
    try bed.driver.submit(.read(block: 0, into: bed.region(0)))
    bed.driver.kick()
    #expect(bed.driver.interruptArrived()[.queue])
    #expect(bed.driver.interruptArrived().raw == 0)
    #expect(try bed.driver.poll() != nil)
    bed.driver.suppressesInterrupts = true
    #expect(bed.driver.suppressesInterrupts)
    #expect(!bed.driver.deviceNeedsReset)
    bed.device.breakDown()
    #expect(bed.driver.deviceNeedsReset)
    #expect(bed.driver.interruptArrived()[.configurationChange])
  }

  @Test func noNotificationWhenTheDeviceAsksForNone() throws {
    let device = SimulatedBlockDevice()
    device.suppressesNotifications = true
    let bed = try BlockTestBed(device)
    try bed.driver.submit(.read(block: 0, into: bed.region(0)))
    bed.driver.kick()
    #expect(device.notifications == 0)
    device.process()
    #expect(try bed.completions().count == 1)
  }
}
