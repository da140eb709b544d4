/// Tests that nothing the 82540EM writes is believed unchecked: the head registers are
/// never read, a done bit left in a descriptor from before is not taken for the device's
/// word, and write-backs with every bit set are dropped or failed, never used.
import E1000
import Registers
import Testing

struct UntrustedDeviceTests {
  @Test func theDriverNeverReadsTheHeadRegisters() throws {
    let bed = try E1000TestBed()
    bed.post(0..<8)
    for seed in 0..<3 { bed.device.receive(testFrame(length: 70, seed: UInt8(seed))) }
    // The device's heads are its own word: garbage there changes nothing the driver does.
    bed.device.set(Offset.receiveHead, 0xFFFF_FFFF)
    bed.device.set(Offset.transmitHead, 0xDEAD_BEEF)
    #expect(bed.received().count == 3)
    #expect(bed.driver.queueTransmit(bed.frame(testFrame(length: 64), in: 20)) == .queued)
    bed.driver.publishTransmit()
    #expect(bed.driver.frameReady == false)
    #expect(bed.driver.receiveBuffersPosted == 5 && bed.driver.transmitFramesQueued == 1)
    let reads = Set(bed.device.reads)
    #expect(!reads.contains(Offset.receiveHead) && !reads.contains(Offset.transmitHead))
  }

  @Test func aDoneBitLeftInAReceiveDescriptorIsNotTheDevicesWord() throws {
    let bed = try E1000TestBed()
    // Descriptor 0 says done (DD | EOP, 64 bytes) before any buffer was posted there.
    bed.rings.write([64, 0, 0, 0, 0b011, 0, 0, 0], at: bed.driver.layout.receiveRing + 8)
    #expect(!bed.driver.frameReady && bed.received().isEmpty)
    #expect(bed.driver.postReceive(bed.buffer(0)))
    bed.driver.publishReceive()
    // Posting cleared it: the buffer is the device's until it writes DD itself.
    #expect(!bed.driver.frameReady && bed.received().isEmpty)
    bed.device.receive(testFrame(length: 64))
    #expect(bed.received() == [.frame(length: 64)])
  }

  @Test func aDoneBitLeftInATransmitDescriptorIsNotTheDevicesWord() throws {
    let device = SimulatedE1000()
    device.completesTransmitAtOnce = false
    let bed = try E1000TestBed(device)
    bed.rings.write([0xFF], at: bed.driver.layout.transmitRing + 12)
    #expect(bed.transmitted().isEmpty)
    #expect(bed.driver.queueTransmit(bed.frame(testFrame(length: 64), in: 0)) == .queued)
    bed.driver.publishTransmit()
    #expect(bed.transmitted().isEmpty && bed.driver.transmitFramesQueued == 1)
    device.completeTransmits()
    #expect(bed.transmitted() == [.sent])
  }

  @Test func aWriteBackWithEveryBitSetIsDropped() throws {
    let bed = try E1000TestBed()
    bed.post(0..<3)
    bed.device.writeBacks = [
      .init(length: 0xFFFF, status: 0xFF, errors: 0xFF), .init(length: 0, status: 0b011),
    ]
    for _ in 0..<3 { bed.device.receive(testFrame(length: 80)) }
    #expect(
      bed.received() == [
        .dropped(.deviceError(ReceiveErrors(raw: 0xFF))), .dropped(.badLength(0)),
        .frame(length: 80),
      ])
    #expect(bed.driver.counters.receiveErrors == 2 && bed.driver.counters.receivedFrames == 1)
  }

  @Test func aTransmitStatusWithEveryBitSetIsAFailure() throws {
    let device = SimulatedE1000()
    device.transmitErrorStatus = 0xFE
    let bed = try E1000TestBed(device)
    #expect(bed.driver.queueTransmit(bed.frame(testFrame(length: 64), in: 0)) == .queued)
    bed.driver.publishTransmit()
    #expect(bed.transmitted() == [.failed(TransmitStatus(raw: 0xFF))])
    #expect(bed.driver.counters.transmitErrors == 1 && bed.driver.counters.sentFrames == 0)
  }
}
