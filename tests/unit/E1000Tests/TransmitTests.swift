/// Tests of the transmit ring: frames queued and sent in order with one TDT write per
/// publish, completions taken only after DD, wrap-around, refused lengths, a full ring,
/// and a device that reports a failure.
import E1000
import Testing

struct TransmitTests {
  @Test func framesGoOutInOrderWithOneTailWritePerPublish() throws {
    let bed = try E1000TestBed(transmitRing: 16)
    let frames = [testFrame(length: 60, seed: 1), testFrame(length: 1514, seed: 2)]
    for (index, frame) in frames.enumerated() {
      #expect(bed.driver.queueTransmit(bed.frame(frame, in: index)) == .queued)
    }
    #expect(bed.device.sent.isEmpty, "nothing goes before the tail is written")
    bed.driver.publishTransmit()
    bed.driver.publishTransmit()
    #expect(bed.device.writes(to: Offset.transmitTail) == [0, 2])
    #expect(bed.device.sent == frames)
    #expect(bed.transmitted() == [.sent, .sent])
    #expect(bed.driver.counters.sentFrames == 2 && bed.driver.counters.sentBytes == 1574)
    #expect(bed.driver.transmitFramesQueued == 0)
  }

  @Test func aShortFrameIsPaddedByTheDevice() throws {
    let bed = try E1000TestBed()
    let arp = testFrame(length: 42)
    #expect(bed.driver.queueTransmit(bed.frame(arp, in: 0)) == .queued)
    bed.driver.publishTransmit()
    #expect(bed.device.sent == [arp + [UInt8](repeating: 0, count: 18)])
    #expect(bed.driver.counters.sentBytes == 0, "counted when taken back, not when sent")
    #expect(bed.transmitted() == [.sent])
    #expect(bed.driver.counters.sentBytes == 42)
  }

  @Test func lengthsOutsideAnEthernetFrameAreRefused() throws {
    let bed = try E1000TestBed()
    for length in [0, 13, 1515, 2048] {
      let region = bed.buffers.dmaRegion(at: 0, count: length)
      #expect(bed.driver.queueTransmit(region) == .badLength, "\(length) bytes")
    }
    bed.driver.publishTransmit()
    #expect(bed.device.sent.isEmpty)
    #expect(bed.device.writes(to: Offset.transmitTail) == [0])
    #expect(bed.driver.counters.transmitErrors == 4)
  }

  @Test func aBufferIsKeptUntilTheDeviceSetsDone() throws {
    let device = SimulatedE1000()
    device.completesTransmitAtOnce = false
    let bed = try E1000TestBed(device, transmitRing: 8)
    for index in 0..<7 {
      #expect(bed.driver.queueTransmit(bed.frame(testFrame(length: 64), in: index)) == .queued)
    }
    #expect(bed.driver.queueTransmit(bed.frame(testFrame(length: 64), in: 7)) == .noRoom)
    bed.driver.publishTransmit()
    #expect(bed.device.register(Offset.transmitTail) == 7)
    #expect(bed.transmitted().isEmpty)
    device.completeTransmits()
    #expect(bed.transmitted().count == 7)
    #expect(bed.driver.transmitRoom == 7)
  }

  @Test func theRingWrapsAroundManyTimes() throws {
    let bed = try E1000TestBed(transmitRing: 8)
    var expected: [[UInt8]] = []
    for lap in 0..<20 {
      // Three frames at a time, so the ring's end falls inside a batch.
      for index in 0..<3 {
        let frame = testFrame(length: 100 + lap, seed: UInt8(lap * 3 + index))
        expected.append(frame)
        #expect(bed.driver.queueTransmit(bed.frame(frame, in: index)) == .queued)
      }
      bed.driver.publishTransmit()
      #expect(bed.transmitted() == [.sent, .sent, .sent])
      #expect(bed.device.register(Offset.transmitTail) == UInt32((lap + 1) * 3 % 8))
    }
    #expect(bed.device.sent == expected)
    #expect(bed.device.faults.isEmpty)
  }

  @Test func aFailureTheDeviceReportsIsCounted() throws {
    let device = SimulatedE1000()
    device.transmitErrorStatus = 0b0100  // late collision
    let bed = try E1000TestBed(device)
    #expect(bed.driver.queueTransmit(bed.frame(testFrame(length: 64), in: 0)) == .queued)
    bed.driver.publishTransmit()
    #expect(bed.transmitted() == [.failed(TransmitStatus(raw: 0b0101))])
    #expect(bed.driver.counters.transmitErrors == 1 && bed.driver.counters.sentFrames == 0)
  }

  @Test func doneBitsOutOfOrderAreTakenInOrder() throws {
    let device = SimulatedE1000()
    device.completesTransmitAtOnce = false
    let bed = try E1000TestBed(device)
    for index in 0..<2 {
      #expect(bed.driver.queueTransmit(bed.frame(testFrame(length: 64), in: index)) == .queued)
    }
    bed.driver.publishTransmit()
    // The device marks the second descriptor done first: the first is still its.
    bed.rings.write([1], at: bed.driver.layout.transmitRing + 16 + 12)
    #expect(bed.transmitted().isEmpty)
    device.completeTransmits()
    #expect(bed.transmitted() == [.sent, .sent])
  }
}
