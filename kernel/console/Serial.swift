/// The 16550 UART on COM1: the kernel's console, polled in both directions.
///
/// Register offsets from the I/O base follow the 16550 data sheet: 0 data (or divisor
/// low with DLAB set), 1 interrupt enable (divisor high), 3 line control, 4 modem
/// control, 5 line status.
enum Serial {
  private static let base: UInt16 = 0x3F8
  private static let data = base
  private static let interruptEnable = base + 1
  private static let lineControl = base + 3
  private static let modemControl = base + 4
  private static let lineStatus = base + 5

  private static let lineStatusDataReady: UInt8 = 1 << 0
  private static let lineStatusTransmitEmpty: UInt8 = 1 << 5

  /// 115200 baud, 8 data bits, no parity, one stop bit, no interrupts.
  ///
  /// The FIFO mode is left as the firmware set it: switching it clears the receive
  /// buffer, losing input typed (or piped) before the kernel started, and polled I/O
  /// gains nothing from the FIFO.
  static func initialize() {
    CPU.out8(interruptEnable, 0)
    CPU.out8(lineControl, 0x80)  // DLAB: the next two writes set the divisor
    CPU.out8(data, 1)  // 115200 / 1
    CPU.out8(interruptEnable, 0)
    CPU.out8(lineControl, 0x03)  // 8N1, DLAB off
    CPU.out8(modemControl, 0x03)  // DTR and RTS
  }

  static func write(_ byte: UInt8) {
    // Bounded, so a missing UART cannot hang the kernel.
    var spins = 0
    while CPU.in8(lineStatus) & lineStatusTransmitEmpty == 0 && spins < 100_000 {
      spins += 1
    }
    CPU.out8(data, byte)
  }

  /// The next received byte, if one is waiting.
  static func read() -> UInt8? {
    guard CPU.in8(lineStatus) & lineStatusDataReady != 0 else { return nil }
    return CPU.in8(data)
  }
}
