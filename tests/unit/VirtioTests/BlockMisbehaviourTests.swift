/// Tests of a virtio-blk device that breaks the protocol: each is an error value from
/// `poll`, the device is reset at once (so it holds no buffer), and the driver refuses
/// further requests instead of trusting the device.
import Registers
import Testing
import Virtio

struct BlockMisbehaviourTests {
  /// A test bed with one read in flight and the device's next completion broken.
  private func readWith(_ misbehaviour: SimulatedBlockDevice.Misbehaviour) throws -> BlockTestBed {
    let bed = try BlockTestBed()
    bed.device.misbehaviour = misbehaviour
    try bed.driver.submit(.read(block: 0, into: bed.region(0)), tag: 9)
    bed.driver.kick()
    return bed
  }

  @Test func aBogusUsedIDIsAnErrorNotACrash() throws {
    let bed = try readWith(.usedID(0xDEAD))
    let misbehaved = VirtioBlockError.deviceMisbehaved(.deviceMisbehaved(.usedIDOutOfRange(0xDEAD)))
    #expect(throws: misbehaved) { try bed.driver.poll() }
    #expect(bed.deviceWasReset)
    #expect(bed.driver.stopped == misbehaved)
    #expect(throws: misbehaved) { try bed.driver.submit(.read(block: 1, into: bed.region(1))) }
    #expect(throws: misbehaved) { try bed.driver.poll() }
    #expect(bed.device.requestsSeen == 1)
  }

  @Test func anIDOfNoRequestIsAnError() throws {
    let bed = try readWith(.usedID(5))
    #expect(throws: VirtioBlockError.deviceMisbehaved(.deviceMisbehaved(.usedIDNotInFlight(5)))) {
      try bed.driver.poll()
    }
    #expect(bed.deviceWasReset)
  }

  @Test func aRequestCompletedTwiceIsAnError() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    try bed.driver.submit(.read(block: 0, into: bed.region(0)), tag: 9)
    try bed.driver.submit(.read(block: 1, into: bed.region(1)), tag: 10)
    bed.driver.kick()
    bed.device.process(limit: 1)
    let first = try #require(try bed.driver.poll())
    // Not collected yet, so the id still names that request, which is no longer at the
    // device. With the other request still in flight, the index may move by one.
    bed.device.repeatLastCompletion()
    #expect(
      throws: VirtioBlockError.deviceMisbehaved(.deviceMisbehaved(.usedIDNotInFlight(first.id)))
    ) {
      try bed.driver.poll()
    }
    #expect(bed.deviceWasReset)
    // What the device finished is still its submitter's, done.
    let completion = try #require(bed.driver.collect(first))
    #expect(completion.tag == 9 && completion.error == nil)
    #expect(bed.buffer(0) == bed.device.block(0))
  }

  @Test func aLengthBeyondTheBuffersIsAnError() throws {
    let bed = try readWith(.extraLength(1))
    #expect(
      throws: VirtioBlockError.deviceMisbehaved(
        .deviceMisbehaved(.usedLengthTooLong(id: 0, length: 4098, writable: 4097)))
    ) {
      try bed.driver.poll()
    }
    #expect(bed.deviceWasReset)
  }

  @Test func aUsedIndexThatJumpsIsAnError() throws {
    let bed = try readWith(.indexJump(200))
    #expect(
      throws: VirtioBlockError.deviceMisbehaved(
        .deviceMisbehaved(.usedIndexTooFar(advance: 201, inFlight: 1)))
    ) {
      try bed.driver.poll()
    }
    #expect(bed.deviceWasReset)
  }

  @Test func aRequestGivenBackWithoutItsStatusIsNotDone() throws {
    let bed = try BlockTestBed()
    bed.device.misbehaviour = .statusNotWritten
    let ticket = try bed.driver.submit(.read(block: 0, into: bed.region(0)), tag: 9)
    bed.driver.kick()
    // Perhaps a stale completion of an earlier request that had this id: the device may
    // still be working on this one, so it is reset before the request goes back.
    #expect(throws: VirtioBlockError.statusNotWritten(id: ticket.id)) { try bed.driver.poll() }
    #expect(bed.deviceWasReset)
    #expect(bed.driver.collect(ticket)?.error == .statusNotWritten(id: ticket.id))
  }

  @Test func anUnknownStatusIsTheRequestsError() throws {
    let bed = try BlockTestBed()
    bed.device.completesOnNotify = false
    let ticket = try bed.driver.submit(.read(block: 0, into: bed.region(0)))
    bed.driver.kick()
    bed.device.process()
    bed.queueMemory.store8(0x42, at: bed.driver.layout.statuses + Int(ticket.id))
    #expect(try bed.completions().map(\.error) == [.unknownStatus(0x42)])
    // The protocol itself was kept, so the driver goes on.
    try bed.driver.read(block: 1, into: bed.region(1)) { bed.device.process() > 0 }
  }

  @Test func anUnsupportedRequestComesBackAsUnsupported() throws {
    let bed = try BlockTestBed()
    // Rewrite the header of a queued read into a type the device does not know.
    bed.device.completesOnNotify = false
    let ticket = try bed.driver.submit(.read(block: 0, into: bed.region(0)))
    bed.queueMemory.store32(0x77, at: bed.driver.layout.headers + 16 * Int(ticket.id))
    bed.driver.kick()
    bed.device.process()
    #expect(try bed.completions().map(\.error) == [.unsupported])
  }
}
