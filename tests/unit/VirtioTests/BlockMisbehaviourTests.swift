/// Tests of a virtio-blk device that breaks the protocol: each is an error value from
/// `poll`, and the driver refuses further requests instead of trusting the device.
import Registers
import Testing
import Virtio

struct BlockMisbehaviourTests {
  /// A test bed with one read in flight and the device's next completion broken.
  private func readWith(_ misbehaviour: SimulatedBlockDevice.Misbehaviour) throws -> BlockTestBed {
    let bed = try BlockTestBed()
    bed.device.misbehaviour = misbehaviour
    try bed.driver.submit(.read(block: 0, into: bed.address(0)), tag: 9)
    bed.driver.kick()
    return bed
  }

  @Test func aBogusUsedIDIsAnErrorNotACrash() throws {
    let bed = try readWith(.usedID(0xDEAD))
    #expect(throws: VirtioBlockError.deviceMisbehaved(.deviceMisbehaved(.usedIDOutOfRange(0xDEAD))))
    {
      try bed.driver.poll()
    }
    #expect(throws: VirtioBlockError.deviceMisbehaved(.deviceMisbehaved(.usedIDOutOfRange(0xDEAD))))
    {
      try bed.driver.submit(.read(block: 1, into: bed.address(1)))
    }
    #expect(bed.device.requestsSeen == 1)
  }

  @Test func anIDOfNoRequestIsAnError() throws {
    let bed = try readWith(.usedID(5))
    #expect(throws: VirtioBlockError.deviceMisbehaved(.deviceMisbehaved(.usedIDNotInFlight(5)))) {
      try bed.driver.poll()
    }
  }

  @Test func aRequestCompletedTwiceIsAnError() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    try bed.driver.submit(.read(block: 0, into: bed.address(0)), tag: 9)
    try bed.driver.submit(.read(block: 1, into: bed.address(1)), tag: 10)
    bed.driver.kick()
    bed.device.process(limit: 1)
    let first = try #require(try bed.driver.poll())
    #expect(first.tag == 9 && first.error == nil)
    // With the other request still in flight, the index may move by one; the id is wrong.
    bed.device.repeatLastCompletion()
    #expect(
      throws: VirtioBlockError.deviceMisbehaved(.deviceMisbehaved(.usedIDNotInFlight(first.id)))
    ) {
      try bed.driver.poll()
    }
  }

  @Test func aLengthBeyondTheBuffersIsAnError() throws {
    let bed = try readWith(.extraLength(1))
    #expect(
      throws: VirtioBlockError.deviceMisbehaved(
        .deviceMisbehaved(.usedLengthTooLong(id: 0, length: 4098, writable: 4097)))
    ) {
      try bed.driver.poll()
    }
  }

  @Test func aUsedIndexThatJumpsIsAnError() throws {
    let bed = try readWith(.indexJump(200))
    #expect(
      throws: VirtioBlockError.deviceMisbehaved(
        .deviceMisbehaved(.usedIndexTooFar(advance: 201, inFlight: 1)))
    ) {
      try bed.driver.poll()
    }
  }

  @Test func aStatusNeverWrittenIsAnUnknownStatus() throws {
    let bed = try readWith(.statusNotWritten)
    let completion = try #require(try bed.driver.poll())
    #expect(completion.error == .unknownStatus(0xFF))
    // The protocol itself was kept, so the driver goes on.
    try bed.driver.read(block: 1, into: bed.address(1)) { bed.device.process() > 0 }
  }

  @Test func anUnsupportedRequestComesBackAsUnsupported() throws {
    let bed = try BlockTestBed()
    // Rewrite the header of a queued read into a type the device does not know.
    bed.device.completesOnNotify = false
    let id = try bed.driver.submit(.read(block: 0, into: bed.address(0)))
    bed.queueMemory.store32(0x77, at: bed.driver.layout.headers + 16 * Int(id))
    bed.driver.kick()
    bed.device.process()
    #expect(try bed.driver.poll()?.error == .unsupported)
  }
}
