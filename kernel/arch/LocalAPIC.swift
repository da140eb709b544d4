/// The local APIC: this CPU's interrupt controller and its timer.
///
/// Register offsets are from the Intel SDM vol. 3, 11.4 and 11.5.4. The timer counts
/// down at the bus clock divided by 16; `calibrate` measures that rate once against the
/// PIT, and `startPeriodicTimer` turns it into the kernel's tick.
enum LocalAPIC {
  private static let baseMSR: UInt32 = 0x1B
  private static let globalEnable: UInt64 = 1 << 11
  private static let id: UInt64 = 0x20
  private static let taskPriority: UInt64 = 0x80
  private static let endOfInterruptRegister: UInt64 = 0xB0
  private static let spuriousVector: UInt64 = 0xF0
  private static let interruptCommandLow: UInt64 = 0x300
  private static let timerVector: UInt64 = 0x320
  private static let timerInitialCount: UInt64 = 0x380
  private static let timerCurrentCount: UInt64 = 0x390
  private static let timerDivide: UInt64 = 0x3E0

  private static let softwareEnable: UInt32 = 1 << 8
  private static let masked: UInt32 = 1 << 16
  private static let periodic: UInt32 = 1 << 17
  private static let divideBy16: UInt32 = 0x3
  private static let deliveryPending: UInt32 = 1 << 12
  private static let toSelf: UInt32 = 1 << 18

  nonisolated(unsafe) private(set) static var base: UInt64 = 0
  /// Timer counts per millisecond, measured by `calibrate`.
  nonisolated(unsafe) private(set) static var timerCountsPerMillisecond: UInt32 = 0

  static func enable() {
    let msr = CPU.readMSR(baseMSR)
    base = msr & 0xF_FFFF_F000
    CPU.writeMSR(baseMSR, msr | globalEnable)
    Paging.mapDevice(base..<(base + 0x1000))
    write(taskPriority, 0)  // accept every priority
    write(spuriousVector, softwareEnable | UInt32(Interrupts.spuriousVector))
  }

  static var apicID: UInt32 { read(id) >> 24 }

  static func endOfInterrupt() { write(endOfInterruptRegister, 0) }

  /// Raises `vector` on this CPU, as a device would.
  static func sendSelfInterrupt(vector: Int) {
    write(interruptCommandLow, toSelf | UInt32(vector))
    while read(interruptCommandLow) & deliveryPending != 0 { CPU.pause() }
  }

  /// Counts the timer down from its maximum for `milliseconds`, timed by the PIT.
  static func calibrate(milliseconds: Int) {
    write(timerDivide, divideBy16)
    write(timerVector, masked | UInt32(Interrupts.timerVector))
    let start = UInt32.max
    write(timerInitialCount, start)
    let elapsed = PIT.wait(milliseconds: milliseconds) { start - read(timerCurrentCount) }
    write(timerInitialCount, 0)
    timerCountsPerMillisecond = max(1, elapsed / UInt32(milliseconds))
  }

  /// Interrupts at `Interrupts.timerVector` every `1 / hertz` seconds.
  static func startPeriodicTimer(hertz: Int) {
    write(timerDivide, divideBy16)
    write(timerVector, periodic | UInt32(Interrupts.timerVector))
    write(timerInitialCount, max(1, timerCountsPerMillisecond * 1000 / UInt32(hertz)))
  }

  private static func read(_ register: UInt64) -> UInt32 { CPU.read32(base + register) }
  private static func write(_ register: UInt64, _ value: UInt32) {
    CPU.write32(base + register, value)
  }
}
