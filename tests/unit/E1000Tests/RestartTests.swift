/// Tests of what happens when a driver starts on a device another instance left running
/// (a crash and restart): DMA and interrupts stopped before anything else, every
/// register programmed again, RCTL written only to stop and to start, and traffic that
/// never adds an RCTL write.
import E1000
import Registers
import Testing

struct RestartTests {
  static let fullReceiveControl: UInt32 = 1 << 1 | 1 << 15 | 1 << 26

  @Test func trafficNeverWritesRCTLAgain() throws {
    let bed = try E1000TestBed()
    bed.post(0..<8)
    for number in 0..<5 {
      bed.device.receive(testFrame(length: 64 + number))
      _ = bed.received()
      #expect(bed.driver.queueTransmit(bed.frame(testFrame(length: 64), in: 20)) == .queued)
      bed.driver.publishTransmit()
      _ = bed.transmitted()
      _ = bed.driver.waitForFrames(timeoutNanoseconds: 1, clock: { 0 }, wait: { _ in .timedOut })
    }
    #expect(bed.device.writes(to: Offset.receiveControl) == [Self.fullReceiveControl])
  }

  /// A first instance with buffers posted and traffic done, then its memory freed, as a
  /// crash leaves things.
  static func crashedInstance() throws -> (SimulatedE1000, writesBefore: Int) {
    let first = try E1000TestBed(ringAddress: 0x1000_0000, bufferAddress: 0x2000_0000)
    first.post(0..<20)
    first.device.receive(testFrame(length: 64))
    #expect(first.received() == [.frame(length: 64)])
    first.device.set(Offset.interruptMaskSet, WaitTests.receiveMask)  // it died waiting
    first.device.memory.detach(first.rings)
    first.device.memory.detach(first.buffers)
    return (first.device, first.device.writes.count)
  }

  @Test func aRestartStopsDMAAndInterruptsBeforeAnythingElse() throws {
    let (device, before) = try Self.crashedInstance()
    _ = try E1000TestBed(device, ringAddress: 0x3000_0000, bufferAddress: 0x4000_0000)
    let restart = Array(device.writes[before...])
    #expect(restart.count > 3)
    #expect(restart[0].offset == Offset.interruptMaskClear && restart[0].value == 0xFFFF_FFFF)
    #expect(restart[1].offset == Offset.receiveControl && restart[1].value == 0)
    #expect(restart[2].offset == Offset.transmitControl && restart[2].value == 0)
    #expect(
      restart.filter { $0.offset == Offset.receiveControl }.map(\.value)
        == [0, Self.fullReceiveControl], "RCTL written to stop and to start, and only then")
    #expect(device.faults.isEmpty, "the device reached the dead instance's memory")
  }

  @Test func aRestartProgramsEveryRegisterAgain() throws {
    let (device, _) = try Self.crashedInstance()
    device.set(Offset.interruptThrottle, 0xFFFF)
    device.set(Offset.multicastTable + 4 * 7, 0xDEAD)
    device.set(Offset.receiveAddressHigh + 8 * 3, 0x8000_0001)
    let bed = try E1000TestBed(device, ringAddress: 0x3000_0000, bufferAddress: 0x4000_0000)
    #expect(device.register(Offset.receiveBaseLow) == 0x3000_0000)
    #expect(device.register(Offset.transmitBaseLow) == 0x3000_0000 + 64 * 16)
    #expect(device.register(Offset.receiveHead) == 0 && device.register(Offset.receiveTail) == 0)
    #expect(device.register(Offset.transmitHead) == 0 && device.register(Offset.transmitTail) == 0)
    #expect(device.register(Offset.interruptMaskSet) == 0)
    #expect(device.register(Offset.interruptThrottle) == 0)
    #expect(device.register(Offset.multicastTable + 4 * 7) == 0)
    #expect(device.register(Offset.receiveAddressHigh + 8 * 3) == 0)
    #expect(device.register(Offset.receiveControl) == Self.fullReceiveControl)
    #expect(
      bed.driver.counters
        == {
          var fresh = E1000Counters()
          fresh.resets = 1
          return fresh
        }())
    // And it works: frames land in the new instance's buffers.
    bed.post(0..<4)
    device.receive(testFrame(length: 100, seed: 5))
    #expect(bed.received() == [.frame(length: 100)])
    #expect(bed.bytes(0, count: 100) == testFrame(length: 100, seed: 5))
    #expect(device.faults.isEmpty)
  }

  @Test func framesQueuedWhileTheDriverWasDeadGoToTheNewRing() throws {
    // The crash path turns bus mastering off; frames that come then wait in the device.
    let (device, _) = try Self.crashedInstance()
    device.busMaster = false
    device.receive(testFrame(length: 80, seed: 1))
    device.receive(testFrame(length: 81, seed: 2))
    // The new instance stops and reprograms the device before bus mastering returns.
    let bed = try E1000TestBed(device, ringAddress: 0x3000_0000, bufferAddress: 0x4000_0000)
    device.busMaster = true
    #expect(device.queued.count == 2, "no buffers yet: the frames keep waiting")
    bed.post(0..<4)
    #expect(bed.received() == [.frame(length: 80), .frame(length: 81)])
    #expect(bed.bytes(1, count: 81) == testFrame(length: 81, seed: 2))
    #expect(device.faults.isEmpty)
  }

  @Test func stopDMAOnAStoppedDeviceLeavesRCTLAlone() throws {
    let device = SimulatedE1000()
    let registers = try #require(E1000Registers(fitting: device))
    Driver.stopDMA(registers)
    #expect(device.writes(to: Offset.receiveControl).isEmpty)
    #expect(device.writes(to: Offset.transmitControl) == [0])
    #expect(device.writes(to: Offset.interruptMaskClear) == [0xFFFF_FFFF])
  }
}
