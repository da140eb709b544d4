/// Tests of interrupt delivery and time: the APICs, the tick, the clock, console input.
enum InterruptTests {
  static var tests: [KernelTest] {
    [
      KernelTest("interrupts.enabled", enabled),
      KernelTest("interrupts.self_interrupt", selfInterrupt),
      KernelTest("interrupts.timer_ticks", timerTicks),
      KernelTest("interrupts.serial_input_by_irq", serialInputByIRQ),
      KernelTest("time.calibrated", calibrated),
      KernelTest("time.monotonic", monotonic),
    ]
  }

  static func enabled(_ t: inout TestContext) {
    t.expect(CPU.interruptsEnabled, "interrupts are disabled")
    t.expect(LocalAPIC.base == 0xFEE0_0000, "local APIC at \(hex: LocalAPIC.base)")
    t.expect(IOAPIC.inputCount >= 16, "I/O APIC reports \(IOAPIC.inputCount) inputs")
    let serial = IOAPIC.redirection(Serial.irq)
    t.expect(
      serial & 0x1_00FF == UInt32(Interrupts.irqBase + Serial.irq), "COM1 routed as \(hex: serial)")
  }

  static func selfInterrupt(_ t: inout TestContext) {
    nonisolated(unsafe) var seen = 0
    Interrupts.register(vector: Interrupts.testVector) { frame in
      seen += Int(frame.vector) == Interrupts.testVector ? 1 : 100
    }
    for _ in 0..<10 { LocalAPIC.sendSelfInterrupt(vector: Interrupts.testVector) }
    t.expect(seen == 10, "handler saw \(seen) interrupts, expected 10")
  }

  /// The tick arrives: 10 ticks (10 ms at 1 kHz) well within a second, however slow
  /// the emulator. (How fast is for `make bench`, not a test.)
  static func timerTicks(_ t: inout TestContext) {
    let before = Clock.ticks
    let deadline = Clock.nanoseconds + 1_000_000_000
    while Clock.ticks - before < 10 && Clock.nanoseconds < deadline { CPU.pause() }
    t.expect(Clock.ticks - before >= 10, "\(Clock.ticks - before) ticks in a second")
  }

  /// In loopback the UART receives what it sends; the byte must arrive by IRQ 4.
  static func serialInputByIRQ(_ t: inout TestContext) {
    while Serial.read() != nil {}  // drop anything already typed
    let before = Serial.interrupts
    Serial.setLoopback(true)
    Serial.write(0x5A)
    Clock.busyWait(nanoseconds: 5_000_000)
    Serial.setLoopback(false)
    let received = Serial.read()
    t.expect(Serial.interrupts > before, "no serial interrupt")
    t.expect(received == 0x5A, "received \(received.map { Int($0) } ?? -1), expected 90")
  }

  static func calibrated(_ t: inout TestContext) {
    let megahertz = Clock.tscPerSecond / 1_000_000
    t.expect(megahertz >= 50 && megahertz <= 20_000, "TSC at \(megahertz) MHz is implausible")
    t.expect(LocalAPIC.timerCountsPerMillisecond > 10, "APIC timer not calibrated")
  }

  static func monotonic(_ t: inout TestContext) {
    var last = Clock.nanoseconds
    for _ in 0..<10_000 {
      let now = Clock.nanoseconds
      if !t.expect(now >= last, "clock went back from \(last) to \(now)") { return }
      last = now
    }
    t.expect(Clock.nanoseconds > 0, "clock does not advance")
  }
}
