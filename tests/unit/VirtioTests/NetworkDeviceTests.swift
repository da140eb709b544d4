/// Tests of the virtio-net driver core against the simulated device: set-up, receive
/// buffers posted and harvested, transmit batches that complete after the notification,
/// 16-bit ring indices wrapping, waiting for frames, and reset.
import Registers
import Testing
import Virtio

struct NetworkSetUpTests {
  @Test func setUpResetsNegotiatesReadsTheMACAndStartsWithNothingPosted() throws {
    let bed = try NetworkTestBed(maximumQueueSize: 64)
    let driver = bed.driver
    #expect(bed.device.statusHistory.first == 0)
    #expect(bed.device.status.raw == 1 | 2 | 8 | 4)
    // No offload is taken, though the device offers checksumming and a control queue.
    #expect(driver.features == [.version1, .networkMAC, .networkStatus])
    #expect(driver.macAddress == 0x5254_0012_3456)
    #expect(driver.linkUp)
    bed.device.setLink(up: false)
    #expect(!driver.linkUp)
    #expect(driver.receiveCapacity == 64 && driver.transmitCapacity == 64)
    #expect(driver.receiveRoom == 64 && driver.receiveBuffersPosted == 0)
    #expect(bed.device.queues.map(\.enabled) == [true, true])
    #expect(bed.device.queues.map(\.size) == [64, 64])
    // Neither queue interrupts until someone waits.
    #expect(bed.device.interruptsSuppressed(0) && bed.device.interruptsSuppressed(1))
    #expect(driver.counters.resets == 1)
    #expect(driver.stopped == nil)
  }

  @Test func theQueuesGetTheirVectorAndTheirOwnRings() throws {
    let bed = try NetworkTestBed(maximumQueueSize: 16, queueVector: 0)
    #expect(bed.device.queues.map(\.vector) == [0, 0])
    let layout = VirtioNetworkMemoryLayout(queueSize: 16)
    let rings = VirtQueueLayout(size: 16)!
    #expect(layout.transmitQueue >= rings.byteCount && layout.transmitQueue % 16 == 0)
    #expect(bed.device.queues[0].descriptors == queueMemoryAddress)
    #expect(bed.device.queues[1].descriptors == queueMemoryAddress + UInt64(layout.transmitQueue))
    #expect(NetworkDriver.memoryByteCount(queueSize: 20) == layout.byteCount)
  }

  @Test func aSmallerDeviceQueueIsTaken() throws {
    let device = SimulatedNetworkDevice()
    device.queueMaximum = 8
    let bed = try NetworkTestBed(device, maximumQueueSize: 128)
    #expect(bed.driver.receiveCapacity == 8 && bed.driver.transmitCapacity == 8)
  }

  @Test func aLegacyOnlyDeviceIsRefused() throws {
    let device = SimulatedNetworkDevice()
    device.offered.remove(.version1)
    #expect(throws: VirtioNetworkError.transport(.legacyOnlyDevice)) {
      try NetworkTestBed(device)
    }
    #expect(device.status[.failed])
  }

  @Test func aDeviceWithoutAMACAddressIsRefused() throws {
    let device = SimulatedNetworkDevice()
    device.offered.remove(.networkMAC)
    #expect(throws: VirtioNetworkError.transport(.missingFeatures(.networkMAC))) {
      try NetworkTestBed(device)
    }
    #expect(device.status[.failed])
  }

  @Test func aDeviceWithOneQueueIsRefused() throws {
    let device = SimulatedNetworkDevice()
    device.queueMaximum = 0
    #expect(throws: VirtioNetworkError.transport(.queueUnavailable(0))) {
      try NetworkTestBed(device)
    }
    #expect(device.wasAbandoned)
  }

  @Test func withoutStatusTheLinkIsUp() throws {
    let device = SimulatedNetworkDevice()
    device.offered.remove(.networkStatus)
    device.setLink(up: false)
    let bed = try NetworkTestBed(device)
    #expect(bed.driver.linkUp)
  }

  @Test func memoryTooSmallIsRefusedBeforeTouchingTheDevice() throws {
    let device = SimulatedNetworkDevice()
    let needed = NetworkDriver.memoryByteCount(queueSize: 32)
    #expect(
      throws: VirtioNetworkError.transport(
        .queueMemoryUnusable(needed: needed, available: needed - 1))
    ) {
      try NetworkDriver(
        transport: makeTransport(device),
        memory: ArrayDMAMemory(byteCount: needed - 1, deviceAddress: 0), maximumQueueSize: 32)
    }
    #expect(device.statusHistory.isEmpty)
  }
}

struct NetworkReceiveTests {
  @Test func framesLandInThePostedBuffersAfterTheHeader() throws {
    let bed = try NetworkTestBed()
    let posted = try bed.post(0..<4)
    #expect(bed.device.notifications == 1)
    #expect(bed.driver.receiveBuffersPosted == 4 && bed.driver.receiveRoom == 12)
    let frames = [
      testFrame(length: 60, seed: 1), testFrame(length: 1514, seed: 2),
      testFrame(length: 14, seed: 3),
    ]
    for frame in frames { #expect(bed.device.receive(frame)) }
    #expect(bed.driver.frameReady)
    let received = try bed.received()
    #expect(received.map(\.frameLength) == frames.map(\.count))
    for (buffer, frame) in zip(received, frames) {
      let index = try #require(posted[buffer.id])
      #expect(bed.frame(index, length: frame.count) == frame)
    }
    // The device wrote its header in the 12 bytes before the frame, and nowhere else.
    let first = try #require(posted[received[0].id])
    #expect(
      bed.packets.bytes[first * NetworkTestBed.stride..<first * NetworkTestBed.stride + 4]
        .allSatisfy { $0 == 0 })
    #expect(!bed.driver.frameReady)
    #expect(bed.driver.receiveBuffersPosted == 1)
    let counters = bed.driver.counters
    #expect(counters.receivedFrames == 3 && counters.receivedBytes == 60 + 1514 + 14)
    #expect(counters.receiveErrors == 0)
  }

  @Test func framesWaitInTheDeviceUntilBuffersArePosted() throws {
    let bed = try NetworkTestBed()
    #expect(!bed.device.receive(testFrame(length: 100, seed: 9)))
    #expect(try bed.received().isEmpty)
    let posted = try bed.post([5])
    let received = try bed.received()
    #expect(received.map(\.frameLength) == [100])
    #expect(posted[received[0].id] == 5)
    #expect(bed.frame(5, length: 100) == testFrame(length: 100, seed: 9))
  }

  @Test func aBufferTooShortForAFullFrameIsNeverPosted() throws {
    let bed = try NetworkTestBed()
    let short = bed.packets.dmaRegion(at: 4, count: 12 + 1513)
    #expect(throws: VirtioNetworkError.badBufferLength(1525)) { try bed.driver.postReceive(short) }
    let huge = ArrayDMAMemory(byteCount: 65537, deviceAddress: 0xA000_0000)
    #expect(throws: VirtioNetworkError.badBufferLength(65537)) {
      try bed.driver.postReceive(huge.dmaRegion)
    }
    bed.driver.publishReceive()
    #expect(bed.device.notifications == 0)
    #expect(bed.driver.receiveRoom == 16)
    _ = try bed.driver.postReceive(bed.packets.dmaRegion(at: 4, count: 12 + 1514))
  }

  @Test func aFrameTooShortToBeOneIsDroppedAndCountedAndTheBufferIsFree() throws {
    let bed = try NetworkTestBed()
    let posted = try bed.post([0])
    bed.device.misbehaviour = (0, .length(12 + 13))
    bed.device.receive(testFrame(length: 60, seed: 1))
    let received = try bed.received()
    #expect(received.count == 1 && received[0].frameLength == nil && posted[received[0].id] == 0)
    #expect(bed.driver.counters.receiveErrors == 1 && bed.driver.counters.receivedFrames == 0)
    // Not a breach of the protocol: the device keeps going.
    #expect(bed.driver.stopped == nil && bed.driver.receiveRoom == 16)
    try bed.post([0])
    bed.device.receive(testFrame(length: 60, seed: 2))
    #expect(try bed.received().map(\.frameLength) == [60])
  }

  @Test func theNumBuffersFieldIsIgnored() throws {
    let bed = try NetworkTestBed()
    try bed.post([0])
    bed.device.numBuffersGarbage = 7
    bed.device.receive(testFrame(length: 42, seed: 4))
    #expect(try bed.received().map(\.frameLength) == [42])
  }

  @Test func aFullReceiveQueueRefusesMore() throws {
    let bed = try NetworkTestBed()
    try bed.post(0..<16)
    #expect(bed.driver.receiveRoom == 0)
    #expect(throws: VirtioNetworkError.queueFull) { try bed.driver.postReceive(bed.region(16)) }
    bed.device.receive(testFrame(length: 60, seed: 1))
    _ = try bed.received()
    #expect(bed.driver.receiveRoom == 1)
    try bed.post([16])
  }

  @Test func indicesWrapPastSixteenBitsOnBothQueues() throws {
    let bed = try NetworkTestBed(maximumQueueSize: 4)
    var posted = try bed.post(0..<4)
    var queued: [UInt16: Int] = [:]
    // 66,000 frames each way through four-entry queues: every index wraps.
    for round in 0..<66_000 {
      let seed = UInt8(truncatingIfNeeded: round)
      let length = 14 + round % 20
      let frame = testFrame(length: length, seed: seed)
      bed.device.receive(frame)
      let received = try bed.received()
      guard received.count == 1, received[0].frameLength == length,
        let index = posted.removeValue(forKey: received[0].id),
        bed.frame(index, length: length) == frame
      else {
        Issue.record("round \(round): received \(received)")
        return
      }
      posted.merge(try bed.post([index])) { _, new in new }

      let sendIndex = 4 + round % 2
      bed.write(frame, into: sendIndex)
      queued[try bed.driver.queueTransmit(bed.region(sendIndex, frameLength: length))] = sendIndex
      bed.driver.publishTransmit()
      bed.device.sendQueued()
      let sent = try bed.transmitted()
      guard sent.count == 1, queued.removeValue(forKey: sent[0]) == sendIndex,
        bed.device.sent.last == frame
      else {
        Issue.record("round \(round): sent \(sent)")
        return
      }
    }
    #expect(bed.driver.counters.receivedFrames == 66_000)
    #expect(bed.driver.counters.sentFrames == 66_000)
    #expect(bed.device.queues[0].nextUsed == UInt16(truncatingIfNeeded: 66_000))
    #expect(bed.driver.stopped == nil)
  }
}

struct NetworkTransmitTests {
  @Test func aBatchIsOneNotificationAndCompletesAfterIt() throws {
    let bed = try NetworkTestBed()
    let frames = [
      testFrame(length: 60, seed: 1), testFrame(length: 1514, seed: 2),
      testFrame(length: 14, seed: 3),
    ]
    var ids: [UInt16] = []
    for (index, frame) in frames.enumerated() {
      bed.write(frame, into: index)
      ids.append(try bed.driver.queueTransmit(bed.region(index, frameLength: frame.count)))
    }
    #expect(bed.device.notifications == 0)
    bed.driver.publishTransmit()
    #expect(bed.device.notifications == 1)
    #expect(bed.driver.framesInFlight == 3 && bed.driver.transmitRoom == 13)
    // QEMU sends after the notification returns: nothing is back yet.
    #expect(try bed.transmitted().isEmpty)
    #expect(bed.device.sendQueued() == 3)
    #expect(try bed.transmitted() == ids)
    #expect(bed.device.sent == frames)
    #expect(bed.device.nonZeroHeaders == 0 && !bed.device.broken)
    #expect(bed.driver.framesInFlight == 0 && bed.driver.transmitRoom == 16)
    #expect(bed.driver.counters.sentFrames == 3 && bed.driver.counters.sentBytes == 60 + 1514 + 14)
    // Sends raise no interrupt: nobody waits for them.
    #expect(bed.device.queueInterrupts == 0)
  }

  @Test func framesOfBadLengthAreRefusedAndCounted() throws {
    let bed = try NetworkTestBed()
    for length in [13, 1515, 2048] {
      #expect(throws: VirtioNetworkError.badFrameLength(length)) {
        try bed.driver.queueTransmit(bed.region(0, frameLength: length))
      }
    }
    // A region shorter than the header is no frame either (QEMU would break on it).
    #expect(throws: VirtioNetworkError.badFrameLength(-2)) {
      try bed.driver.queueTransmit(bed.packets.dmaRegion(at: 4, count: 10))
    }
    bed.driver.publishTransmit()
    #expect(bed.device.notifications == 0)
    #expect(bed.driver.counters.transmitErrors == 4)
    #expect(bed.driver.stopped == nil)
  }

  @Test func aFullTransmitQueueRefusesMoreUntilFramesComeBack() throws {
    let bed = try NetworkTestBed(maximumQueueSize: 4)
    for index in 0..<4 {
      bed.write(testFrame(length: 60, seed: UInt8(index)), into: index)
      _ = try bed.driver.queueTransmit(bed.region(index, frameLength: 60))
    }
    #expect(throws: VirtioNetworkError.queueFull) {
      try bed.driver.queueTransmit(bed.region(4, frameLength: 60))
    }
    bed.driver.publishTransmit()
    bed.device.sendQueued()
    #expect(try bed.transmitted().count == 4)
    _ = try bed.driver.queueTransmit(bed.region(4, frameLength: 60))
  }

  @Test func aDeviceThatAsksForNoNotificationsIsNotNotified() throws {
    let device = SimulatedNetworkDevice()
    device.suppressesNotifications = true
    let bed = try NetworkTestBed(device)
    bed.write(testFrame(length: 60, seed: 1), into: 0)
    _ = try bed.driver.queueTransmit(bed.region(0, frameLength: 60))
    bed.driver.publishTransmit()
    try bed.post([1])
    #expect(device.notifications == 0)
    #expect(device.sendQueued() == 1)
  }
}

struct NetworkWaitTests {
  /// A clock that moves only when a wait says it does.
  final class TestClock {
    var now: UInt64 = 1_000
    var waits: [UInt64] = []
  }

  @Test func aFrameAlreadyThereIsReturnedWithoutWaiting() throws {
    let bed = try NetworkTestBed()
    try bed.post([0])
    bed.device.receive(testFrame(length: 60, seed: 1))
    let ready = bed.driver.waitForFrames(
      timeoutNanoseconds: 1_000_000, clock: { 0 },
      wait: { _ in
        Issue.record("waited with a frame ready")
        return false
      })
    #expect(ready)
    #expect(bed.device.interruptsSuppressed(0))
  }

  @Test func aWaitTurnsReceiveInterruptsOnAndOffAgain() throws {
    let bed = try NetworkTestBed()
    try bed.post([0])
    let clock = TestClock()
    let ready = bed.driver.waitForFrames(
      timeoutNanoseconds: 5_000, clock: { clock.now },
      wait: { nanoseconds in
        clock.waits.append(nanoseconds)
        #expect(!bed.device.interruptsSuppressed(0) && bed.device.interruptsSuppressed(1))
        if clock.waits.count == 2 {
          bed.device.receive(testFrame(length: 60, seed: 1))
          return bed.device.queueInterrupts > 0
        }
        clock.now += 1_000
        return true  // an interrupt for something else
      })
    #expect(ready)
    #expect(clock.waits == [5_000, 4_000])
    #expect(bed.device.queueInterrupts == 1)
    #expect(bed.device.interruptsSuppressed(0))
    #expect(bed.driver.counters.interrupts == 2)
    #expect(try bed.received().map(\.frameLength) == [60])
  }

  @Test func aWaitEndsAtItsDeadline() throws {
    let bed = try NetworkTestBed()
    try bed.post([0])
    let clock = TestClock()
    let ready = bed.driver.waitForFrames(
      timeoutNanoseconds: 3_000, clock: { clock.now },
      wait: { nanoseconds in
        clock.waits.append(nanoseconds)
        clock.now += 2_000
        return true
      })
    #expect(!ready)
    #expect(clock.waits == [3_000, 1_000])
    #expect(bed.device.interruptsSuppressed(0))
    // An endless timeout does not wrap the deadline around.
    clock.waits = []
    clock.now = .max - 10
    #expect(
      !bed.driver.waitForFrames(
        timeoutNanoseconds: .max, clock: { clock.now },
        wait: { nanoseconds in
          clock.waits.append(nanoseconds)
          return false
        }))
    #expect(clock.waits == [10])
  }

  @Test func aTransmitDuringTheWaitLeavesBothQueuesConsistent() throws {
    let bed = try NetworkTestBed()
    try bed.post([0])
    var sentID: UInt16?
    let ready = bed.driver.waitForFrames(
      timeoutNanoseconds: 1_000, clock: { 0 },
      wait: { _ in
        // Another thread runs a transmit in the domain while this one waits.
        bed.write(testFrame(length: 60, seed: 5), into: 1)
        sentID = try? bed.driver.queueTransmit(bed.region(1, frameLength: 60))
        bed.driver.publishTransmit()
        bed.device.sendQueued()
        bed.device.receive(testFrame(length: 70, seed: 6))
        return true
      })
    #expect(ready)
    #expect(try bed.transmitted() == [try #require(sentID)])
    #expect(try bed.received().map(\.frameLength) == [70])
    #expect(bed.device.interruptsSuppressed(0))
  }

  @Test func aResetDuringTheWaitEndsIt() throws {
    let bed = try NetworkTestBed()
    try bed.post([0])
    let ready = bed.driver.waitForFrames(
      timeoutNanoseconds: 1_000, clock: { 0 },
      wait: { _ in
        bed.driver.stop(because: .queueFull)
        return true
      })
    #expect(!ready)
    #expect(!bed.driver.waitForFrames(timeoutNanoseconds: 1_000, clock: { 0 }, wait: { _ in true }))
  }

  @Test func theISRSaysAQueueInterrupted() throws {
    let bed = try NetworkTestBed()
    try bed.post([0])
    _ = bed.driver.waitForFrames(
      timeoutNanoseconds: 1_000, clock: { 0 },
      wait: { _ in
        bed.device.receive(testFrame(length: 60, seed: 1))
        return true
      })
    #expect(bed.driver.interruptArrived()[.queue])
    #expect(bed.driver.interruptArrived().raw == 0)
  }
}
