/// Tests of the receive ring: posting buffers and advancing RDT, frames landing in the
/// buffers in order, wrap-around, and what the driver does with a write-back it cannot
/// trust.
import E1000
import Testing

struct ReceiveTests {
  @Test func postingAdvancesRDTOncePerPublish() throws {
    let bed = try E1000TestBed(receiveRing: 16)
    bed.post(0..<5)
    #expect(bed.device.writes(to: Offset.receiveTail) == [0, 5])
    bed.driver.publishReceive()  // nothing new: no write
    #expect(bed.device.writes(to: Offset.receiveTail) == [0, 5])
    bed.post(5..<7)
    #expect(bed.device.writes(to: Offset.receiveTail) == [0, 5, 7])
    #expect(bed.driver.receiveBuffersPosted == 7 && bed.driver.receiveRoom == 8)
  }

  @Test func aFullRingEndsWithRDTOneBehindTheHead() throws {
    let bed = try E1000TestBed(receiveRing: 8)
    bed.post(0..<7)
    #expect(bed.device.register(Offset.receiveTail) == 7)
    #expect(!bed.driver.postReceive(bed.buffer(7)), "an eighth buffer would make RDT equal RDH")
    #expect(bed.driver.receiveRoom == 0)
  }

  @Test func framesLandInTheBuffersInPostingOrder() throws {
    let bed = try E1000TestBed()
    bed.post(0..<4)
    let frames = [testFrame(length: 100, seed: 1), testFrame(length: 1514, seed: 2)]
    for frame in frames { #expect(bed.device.receive(frame)) }
    #expect(bed.driver.frameReady)
    #expect(bed.received() == [.frame(length: 100), .frame(length: 1514)])
    #expect(bed.bytes(0, count: 100) == frames[0])
    #expect(bed.bytes(1, count: 1514) == frames[1])
    #expect(!bed.driver.frameReady)
    #expect(bed.driver.receiveBuffersPosted == 2)
    #expect(bed.driver.counters.receivedFrames == 2)
    #expect(bed.driver.counters.receivedBytes == 1614)
    #expect(bed.driver.counters.receiveErrors == 0)
  }

  @Test func aShortFrameArrivesPaddedTo60Bytes() throws {
    let bed = try E1000TestBed()
    bed.post(0..<1)
    bed.device.receive(testFrame(length: 42))
    #expect(bed.received() == [.frame(length: 60)])
    #expect(bed.bytes(0, count: 60) == testFrame(length: 42) + [UInt8](repeating: 0, count: 18))
  }

  @Test func framesWaitInTheDeviceUntilBuffersArePosted() throws {
    let bed = try E1000TestBed()
    #expect(!bed.device.receive(testFrame(length: 64, seed: 3)))
    #expect(bed.received().isEmpty)
    bed.post(0..<2)
    #expect(bed.received() == [.frame(length: 64)])
    #expect(bed.bytes(0, count: 64) == testFrame(length: 64, seed: 3))
  }

  @Test func theRingWrapsAroundManyTimes() throws {
    let bed = try E1000TestBed(receiveRing: 8, bufferCount: 7)
    bed.post(0..<7)
    // Each buffer goes back to the ring's tail when taken, so the buffer a frame lands in
    // rotates through the seven, lap after lap.
    var order = Array(0..<7)
    for number in 0..<60 {
      let frame = testFrame(length: 60 + number, seed: UInt8(number))
      #expect(bed.device.receive(frame))
      #expect(bed.received() == [.frame(length: frame.count)])
      let buffer = order.removeFirst()
      #expect(bed.bytes(buffer, count: frame.count) == frame, "frame \(number)")
      #expect(bed.driver.postReceive(bed.buffer(buffer)))
      bed.driver.publishReceive()
      order.append(buffer)
      #expect(bed.device.register(Offset.receiveTail) == UInt32((number + 8) % 8))
    }
    #expect(bed.device.register(Offset.receiveHead) == 60 % 8)
    #expect(bed.device.faults.isEmpty)
  }

  @Test func aLengthPastTheBufferIsDroppedAndCounted() throws {
    let bed = try E1000TestBed()
    bed.post(0..<4)
    bed.device.writeBacks = [.init(length: 2049), .init(length: 0xFFFF), .init(length: 13)]
    for _ in 0..<4 { bed.device.receive(testFrame(length: 80)) }
    #expect(
      bed.received() == [
        .dropped(.badLength(2049)), .dropped(.badLength(0xFFFF)), .dropped(.badLength(13)),
        .frame(length: 80),
      ])
    #expect(bed.driver.counters.receiveErrors == 3)
    #expect(bed.driver.counters.receivedFrames == 1)
  }

  @Test func aFrameWithoutEndOfPacketIsDroppedWithItsRest() throws {
    let bed = try E1000TestBed()
    bed.post(0..<5)
    // DD without EOP twice, then the piece with EOP: one frame spread over three.
    bed.device.writeBacks = [.init(status: 0b001), .init(status: 0b001), .init(status: 0b011)]
    for _ in 0..<4 { bed.device.receive(testFrame(length: 90)) }
    #expect(
      bed.received() == [
        .dropped(.noEndOfPacket), .dropped(.restOfDroppedFrame), .dropped(.restOfDroppedFrame),
        .frame(length: 90),
      ])
    #expect(bed.driver.counters.receiveErrors == 1)
  }

  @Test func errorsTheDeviceFlaggedDropTheFrame() throws {
    let bed = try E1000TestBed()
    bed.post(0..<6)
    bed.device.writeBacks = [
      .init(errors: 0x01), .init(errors: 0x80), .init(errors: 0x04),
      // Checksum errors are the stack's to find: the frame is passed on.
      .init(errors: 0x60),
    ]
    for _ in 0..<5 { bed.device.receive(testFrame(length: 70)) }
    #expect(
      bed.received() == [
        .dropped(.deviceError(ReceiveErrors(raw: 0x01))),
        .dropped(.deviceError(ReceiveErrors(raw: 0x80))),
        .dropped(.deviceError(ReceiveErrors(raw: 0x04))),
        .frame(length: 70), .frame(length: 70),
      ])
    #expect(bed.driver.counters.receiveErrors == 3)
  }

  @Test func aDescriptorIsNotTakenBeforeItsDoneBit() throws {
    let bed = try E1000TestBed()
    bed.post(0..<2)
    // A device that writes a length but no DD has not given the buffer back.
    bed.device.writeBacks = [.init(length: 64, status: 0b010)]
    bed.device.receive(testFrame(length: 64))
    #expect(!bed.driver.frameReady)
    #expect(bed.received().isEmpty)
    #expect(bed.driver.receiveBuffersPosted == 2)
  }

  @Test func aBufferSmallerThan2048BytesIsNotPosted() throws {
    let bed = try E1000TestBed()
    #expect(!bed.driver.postReceive(bed.buffers.dmaRegion(at: 0, count: 2047)))
    #expect(bed.driver.receiveBuffersPosted == 0)
  }
}
