/// Time: a monotonic clock in nanoseconds from the TSC, and the kernel tick.
///
/// The TSC rate is measured once at boot against the PIT (10 ms), as is the local APIC
/// timer's, which then interrupts `tickHertz` times a second. Under QEMU with
/// `-icount shift=0` the TSC counts guest instructions instead of time; the clock is
/// then in "instruction nanoseconds", which is what the benchmarks want.
enum Clock {
  static let tickHertz = 1000
  private static let calibrationMilliseconds = 10

  nonisolated(unsafe) private(set) static var tscPerSecond: UInt64 = 1
  nonisolated(unsafe) private static var bootTimestamp: UInt64 = 0
  /// Timer interrupts since `start` (kept where cross-domain calls read it to stamp
  /// their start: kernel/domains/DomainCall.swift).
  static var ticks: UInt64 { DomainCall.ticks }

  /// Measures the TSC and the APIC timer and starts the tick. Interrupts stay disabled.
  static func start() {
    bootTimestamp = CPU.timestamp
    let elapsed = PIT.wait(milliseconds: calibrationMilliseconds) { CPU.timestamp }
    tscPerSecond = max(1, elapsed * 1000 / UInt64(calibrationMilliseconds))
    LocalAPIC.calibrate(milliseconds: calibrationMilliseconds)
    Interrupts.register(vector: Interrupts.timerVector) { frame in
      DomainCall.ticks &+= 1
      DomainManager.watchdogTick(&frame)
      Scheduler.tick()
    }
    LocalAPIC.startPeriodicTimer(hertz: tickHertz)
  }

  /// Nanoseconds since boot, never going backwards.
  static var nanoseconds: UInt64 { nanoseconds(ofTimestampDelta: CPU.timestamp &- bootTimestamp) }

  /// Converts TSC counts to nanoseconds without overflowing.
  static func nanoseconds(ofTimestampDelta delta: UInt64) -> UInt64 {
    let product = delta.multipliedFullWidth(by: 1_000_000_000)
    guard product.high < tscPerSecond else { return .max }
    return CPU.divide(high: product.high, low: product.low, by: tscPerSecond)
  }

  /// Spins for at least `nanoseconds`.
  static func busyWait(nanoseconds duration: UInt64) {
    let end = nanoseconds &+ duration
    while nanoseconds < end { CPU.pause() }
  }
}
