/// The 8254 programmable interval timer, used once at boot as a known clock.
///
/// Channel 2 counts down at 1.193182 MHz with its gate controlled through port 0x61
/// and its output readable there (bit 5), so it can time an interval by polling with
/// no interrupt. The kernel uses it to measure the TSC and the local APIC timer.
enum PIT {
  static let frequency: UInt64 = 1_193_182
  private static let channel2Data: UInt16 = 0x42
  private static let command: UInt16 = 0x43
  private static let gatePort: UInt16 = 0x61
  private static let gateBit: UInt8 = 1 << 0
  private static let speakerBit: UInt8 = 1 << 1
  private static let outputBit: UInt8 = 1 << 5

  /// Runs `measure` at the start and end of a `milliseconds` interval (up to 50) and
  /// returns the end value minus the start value. If the PIT never finishes (no PIT),
  /// gives up after a bounded number of polls and returns what it measured so far.
  static func wait<T: FixedWidthInteger>(milliseconds: Int, _ measure: () -> T) -> T {
    let count = UInt16(frequency * UInt64(milliseconds) / 1000)
    let gate = CPU.in8(gatePort) & ~(gateBit | speakerBit)
    CPU.out8(gatePort, gate)  // gate low: hold the counter
    CPU.out8(command, 0xB0)  // channel 2, low then high byte, mode 0, binary
    CPU.out8(channel2Data, UInt8(truncatingIfNeeded: count))
    CPU.out8(channel2Data, UInt8(truncatingIfNeeded: count >> 8))
    let start = measure()
    CPU.out8(gatePort, gate | gateBit)  // gate high: count down
    var polls = 0
    while CPU.in8(gatePort) & outputBit == 0 && polls < 50_000_000 { polls += 1 }
    let end = measure()
    CPU.out8(gatePort, gate)
    return end &- start
  }
}
