/// Tests of a virtio-net device that breaks the ring protocol: a length past the buffer,
/// an id it was never given, an index that runs ahead, on either queue. Each is refused
/// and counted, the device is reset at once (so it holds no buffer), the driver takes
/// nothing more, and a new driver on the same transport and memory works again.
import Registers
import Testing
import Virtio

struct NetworkMisbehaviourTests {
  /// A test bed with receive buffers 0..<4 posted and frames 4..<6 queued and sent.
  private func busyBed() throws -> NetworkTestBed {
    let bed = try NetworkTestBed()
    try bed.post(0..<4)
    for index in 4..<6 {
      bed.write(testFrame(length: 60, seed: UInt8(index)), into: index)
      _ = try bed.driver.queueTransmit(bed.region(index, frameLength: 60))
    }
    bed.driver.publishTransmit()
    return bed
  }

  private func expectStopped(
    _ bed: NetworkTestBed, _ error: VirtioNetworkError,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(bed.driver.stopped == error, sourceLocation: sourceLocation)
    #expect(bed.deviceWasReset, sourceLocation: sourceLocation)
    #expect(bed.device.queues.allSatisfy { !$0.enabled }, sourceLocation: sourceLocation)
    #expect(throws: error, sourceLocation: sourceLocation) { try bed.driver.takeReceived() }
    #expect(throws: error, sourceLocation: sourceLocation) { try bed.driver.takeTransmitted() }
    #expect(throws: error, sourceLocation: sourceLocation) {
      try bed.driver.postReceive(bed.region(10))
    }
    #expect(throws: error, sourceLocation: sourceLocation) {
      try bed.driver.queueTransmit(bed.region(11, frameLength: 60))
    }
    #expect(
      bed.driver.receiveRoom == 0 && bed.driver.transmitRoom == 0, sourceLocation: sourceLocation)
    #expect(!bed.driver.frameReady, sourceLocation: sourceLocation)
  }

  /// What the device does wrong with the next buffer it gives back, and how the queue
  /// names it.
  static let receiveBreaches:
    [(SimulatedNetworkDevice.Misbehaviour, VirtQueueError.DeviceMisbehaviour)] = [
      (.length(12 + 2048 + 1), .usedLengthTooLong(id: 0, length: 2061, writable: 2060)),
      // Id 7 is a descriptor of the queue, but no buffer the device holds.
      (.usedID(7), .usedIDNotInFlight(7)),
      (.usedID(0x1_0000), .usedIDOutOfRange(0x1_0000)),
      (.indexJump(100), .usedIndexTooFar(advance: 101, inFlight: 4)),
    ]

  @Test(arguments: receiveBreaches)
  func aReceiveBreachIsRefusedCountedAndTheDeviceReset(
    _ misbehaviour: SimulatedNetworkDevice.Misbehaviour, _ breach: VirtQueueError.DeviceMisbehaviour
  ) throws {
    let bed = try busyBed()
    bed.device.misbehaviour = (0, misbehaviour)
    bed.device.receive(testFrame(length: 60, seed: 1))
    let error = VirtioNetworkError.deviceMisbehaved(.receive, .deviceMisbehaved(breach))
    #expect(throws: error) { try bed.driver.takeReceived() }
    #expect(bed.driver.counters.receiveErrors == 1 && bed.driver.counters.receivedFrames == 0)
    expectStopped(bed, error)
  }

  @Test func aReceiveBufferGivenBackTwiceIsRefused() throws {
    let bed = try busyBed()
    bed.device.receive(testFrame(length: 60, seed: 1))
    let first = try #require(try bed.driver.takeReceived())
    // The same id again, while other buffers are still posted: the index may move.
    bed.device.publishUsed(0, id: UInt32(first.id), length: 72)
    let error = VirtioNetworkError.deviceMisbehaved(
      .receive, .deviceMisbehaved(.usedIDNotInFlight(first.id)))
    #expect(throws: error) { try bed.driver.takeReceived() }
    expectStopped(bed, error)
  }

  @Test func aReceiveIndexThatRunsAheadIsRefused() throws {
    let bed = try busyBed()
    bed.device.misbehaviour = (0, .indexJump(100))
    bed.device.receive(testFrame(length: 60, seed: 1))
    let error = VirtioNetworkError.deviceMisbehaved(
      .receive, .deviceMisbehaved(.usedIndexTooFar(advance: 101, inFlight: 4)))
    #expect(throws: error) { try bed.driver.takeReceived() }
    expectStopped(bed, error)
  }

  /// A sent frame's chain is all device-readable, so the device may report no bytes.
  static let transmitBreaches:
    [(SimulatedNetworkDevice.Misbehaviour, VirtQueueError.DeviceMisbehaviour)] = [
      (.length(60), .usedLengthTooLong(id: 0, length: 60, writable: 0)),
      (.usedID(9), .usedIDNotInFlight(9)),
    ]

  @Test(arguments: transmitBreaches)
  func aTransmitBreachIsRefusedCountedAndTheDeviceReset(
    _ misbehaviour: SimulatedNetworkDevice.Misbehaviour, _ breach: VirtQueueError.DeviceMisbehaviour
  ) throws {
    let bed = try busyBed()
    bed.device.misbehaviour = (1, misbehaviour)
    bed.device.sendQueued()
    let error = VirtioNetworkError.deviceMisbehaved(.transmit, .deviceMisbehaved(breach))
    #expect(throws: error) { try bed.driver.takeTransmitted() }
    #expect(bed.driver.counters.transmitErrors == 1 && bed.driver.counters.sentFrames == 0)
    expectStopped(bed, error)
  }

  @Test func aNewDriverTakesOverAfterTheResetAndCarriesTheCounters() throws {
    let bed = try NetworkTestBed()
    for index in 0..<2 {
      bed.write(testFrame(length: 60, seed: 1), into: index)
      _ = try bed.driver.queueTransmit(bed.region(index, frameLength: 60))
      bed.driver.publishTransmit()
      if index == 1 { bed.device.misbehaviour = (1, .usedID(9)) }
      bed.device.sendQueued()
    }
    #expect(try bed.driver.takeTransmitted() != nil)
    #expect(throws: (any Error).self) { try bed.driver.takeTransmitted() }
    let counters = bed.driver.counters
    #expect(counters.sentFrames == 1 && counters.transmitErrors == 1 && counters.resets == 1)

    let again = try NetworkDriver(
      transport: bed.transport, memory: bed.queueMemory, maximumQueueSize: 16, counters: counters)
    #expect(again.counters.resets == 2 && again.counters.sentFrames == 1)
    #expect(again.receiveBuffersPosted == 0 && again.framesInFlight == 0)
    // The old driver's queues are gone with the reset; the new one starts from index 0.
    let id = try again.postReceive(bed.region(0))
    again.publishReceive()
    bed.device.receive(testFrame(length: 99, seed: 3))
    #expect(try again.takeReceived() == ReceivedBuffer(id: id, frameLength: 99))
    #expect(bed.frame(0, length: 99) == testFrame(length: 99, seed: 3))
  }

  @Test func stoppingResetsTheDeviceSoItHoldsNoBuffer() throws {
    let bed = try busyBed()
    bed.driver.stop(because: .queueFull)
    expectStopped(bed, .queueFull)
    // The device dropped what it held: a frame arriving now goes nowhere.
    #expect(!bed.device.receive(testFrame(length: 60, seed: 1)))
    #expect(bed.device.sendQueued() == 0 && bed.device.sent.isEmpty)
    bed.driver.stop(because: .queueFull)
    #expect(bed.device.statusHistory.filter { $0 == 0 }.count == 2)
  }

  @Test func aTransmitChainShorterThanTheHeaderWouldBreakQEMUAndIsNeverMade() throws {
    let bed = try NetworkTestBed()
    for count in 0..<12 + 14 {
      _ = try? bed.driver.queueTransmit(bed.packets.dmaRegion(at: 4, count: count))
    }
    bed.driver.publishTransmit()
    bed.device.sendQueued()
    #expect(!bed.device.broken && bed.device.sent.isEmpty)
  }
}
