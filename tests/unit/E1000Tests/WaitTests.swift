/// Tests of waiting for frames: receive interrupts unmasked only while someone waits,
/// pending causes cleared (INTx lowered) before each wait, the deadline kept across
/// wakes, and other calls using the device while a waiter is away.
import E1000
import Testing

/// A clock that moves only when told, and a record of the waits.
final class WaitScript {
  var now: UInt64 = 1_000
  var waits: [UInt64] = []
}

struct WaitTests {
  static let receiveMask: UInt32 = 1 << 2 | 1 << 4 | 1 << 6 | 1 << 7

  @Test func aReadyFrameReturnsWithoutWaiting() throws {
    let bed = try E1000TestBed()
    bed.post(0..<2)
    bed.device.receive(testFrame(length: 64))
    let ready = bed.driver.waitForFrames(
      timeoutNanoseconds: 1_000_000, clock: { 0 },
      wait: { _ in
        Issue.record("waited with a frame ready")
        return .timedOut
      })
    #expect(ready)
    #expect(bed.device.writes(to: Offset.interruptMaskSet).isEmpty)
  }

  @Test func aFrameArrivingDuringTheWaitWakesIt() throws {
    let bed = try E1000TestBed()
    bed.post(0..<2)
    let device = bed.device
    // A cause left from before (a transmit) must not wake the waiter at once.
    device.set(Offset.interruptCause, 0b11)
    let script = WaitScript()
    let ready = bed.driver.waitForFrames(
      timeoutNanoseconds: 5_000, clock: { script.now },
      wait: { remaining in
        script.waits.append(remaining)
        #expect(device.register(Offset.interruptMaskSet) == Self.receiveMask)
        #expect(!device.interruptLine, "INTx still asserted when the wait began")
        device.receive(testFrame(length: 64))
        #expect(device.interruptLine)
        return .interrupted
      })
    #expect(ready)
    #expect(script.waits == [5_000])
    #expect(bed.driver.counters.interrupts == 1)
    #expect(device.register(Offset.interruptMaskSet) == 0, "receive interrupts left unmasked")
    #expect(bed.received() == [.frame(length: 64)])
  }

  @Test func wakesWithoutAFrameWaitOnForWhatIsLeft() throws {
    let bed = try E1000TestBed()
    bed.post(0..<2)
    let script = WaitScript()
    let ready = bed.driver.waitForFrames(
      timeoutNanoseconds: 3_000, clock: { script.now },
      wait: { remaining in
        script.waits.append(remaining)
        script.now += 1_000
        return .interrupted
      })
    #expect(!ready)
    #expect(script.waits == [3_000, 2_000, 1_000])
    #expect(bed.device.register(Offset.interruptMaskSet) == 0)
  }

  @Test func aTimeoutSaysWhetherAFrameCameAnyway() throws {
    let bed = try E1000TestBed()
    bed.post(0..<2)
    #expect(
      !bed.driver.waitForFrames(timeoutNanoseconds: 10, clock: { 0 }, wait: { _ in .timedOut }))
    let device = bed.device
    let late = bed.driver.waitForFrames(
      timeoutNanoseconds: 10, clock: { 0 },
      wait: { _ in
        device.receive(testFrame(length: 64))
        return .timedOut
      })
    #expect(late)
    #expect(bed.driver.counters.interrupts == 0)
  }

  @Test func withoutAnInterruptItLooksAfterEachPause() throws {
    let bed = try E1000TestBed()
    bed.post(0..<2)
    let device = bed.device
    let script = WaitScript()
    let ready = bed.driver.waitForFrames(
      timeoutNanoseconds: 10_000, clock: { script.now },
      wait: { remaining in
        script.waits.append(remaining)
        script.now += 1_000
        if script.waits.count == 3 { device.receive(testFrame(length: 64)) }
        return .polled
      })
    #expect(ready)
    #expect(script.waits == [10_000, 9_000, 8_000])
    #expect(bed.driver.counters.interrupts == 0)
  }

  @Test func twoWaitersKeepTheMaskUntilTheLastLeaves() throws {
    let bed = try E1000TestBed()
    bed.post(0..<2)
    let driver = bed.driver
    let device = bed.device
    let ready = driver.waitForFrames(
      timeoutNanoseconds: 1_000, clock: { 0 },
      wait: { _ in
        // Another thread comes in while this one is away, and gives up first.
        #expect(
          !driver.waitForFrames(timeoutNanoseconds: 10, clock: { 0 }, wait: { _ in .timedOut }))
        #expect(device.register(Offset.interruptMaskSet) == Self.receiveMask)
        device.receive(testFrame(length: 64))
        return .interrupted
      })
    #expect(ready)
    #expect(device.writes(to: Offset.interruptMaskSet) == [Self.receiveMask])
    #expect(device.register(Offset.interruptMaskSet) == 0)
  }

  @Test func callsWhileAWaiterIsAwayKeepTheRingsConsistent() throws {
    let bed = try E1000TestBed(receiveRing: 8, transmitRing: 8, bufferCount: 16)
    bed.post(0..<7)
    let driver = bed.driver
    let device = bed.device
    let ready = driver.waitForFrames(
      timeoutNanoseconds: 1_000, clock: { 0 },
      wait: { _ in
        // A transmit and a receive call run in the domain meanwhile.
        #expect(driver.queueTransmit(bed.frame(testFrame(length: 80, seed: 9), in: 8)) == .queued)
        driver.publishTransmit()
        device.receive(testFrame(length: 70, seed: 1))
        #expect(bed.received() == [.frame(length: 70)])
        #expect(driver.postReceive(bed.buffer(0)))
        driver.publishReceive()
        device.receive(testFrame(length: 71, seed: 2))
        return .interrupted
      })
    #expect(ready)
    #expect(bed.transmitted() == [.sent])
    #expect(device.sent == [testFrame(length: 80, seed: 9)])
    #expect(bed.received() == [.frame(length: 71)])
    #expect(bed.bytes(1, count: 71) == testFrame(length: 71, seed: 2))
    #expect(driver.receiveBuffersPosted == 6)
  }
}
