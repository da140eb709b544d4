/// The 16550 UART on COM1: the kernel's console. Output is polled; input is polled
/// until `enableInterrupts`, then taken by the IRQ 4 handler into a ring buffer.
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
  private static let receivedDataInterrupt: UInt8 = 1 << 0
  private static let modemControlNormal: UInt8 = 0x0B  // DTR, RTS, OUT2 (gates the IRQ line)
  private static let modemControlLoopback: UInt8 = 0x1B
  static let irq = 4

  /// Input received by interrupt. One producer (the handler) and one consumer, on one
  /// CPU: each index is written by one side only.
  nonisolated(unsafe) private static var ring = InlineArray<256, UInt8>(repeating: 0)
  nonisolated(unsafe) private static var ringHead: UInt8 = 0
  nonisolated(unsafe) private static var ringTail: UInt8 = 0
  nonisolated(unsafe) private static var interruptDriven = false
  /// Receive interrupts taken, and bytes dropped because the ring was full.
  nonisolated(unsafe) private(set) static var interrupts: UInt64 = 0
  nonisolated(unsafe) private(set) static var dropped: UInt64 = 0

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
    CPU.out8(modemControl, modemControlNormal)
  }

  /// Signalled by the receive interrupt: what a reader blocks on (`waitForInput`).
  nonisolated(unsafe) private static let inputArrived = InterruptEvent()

  /// Initializes the ring buffer and the event before any interrupt can reach them
  /// (kernel/Main.swift).
  static func prepareForInterrupts() {
    ring[0] = 0
    _ = inputArrived.count
  }

  /// Blocks the calling thread until input may have arrived since `seen`, the event's
  /// count read before the reader found the ring empty; returns the count. Other threads,
  /// domain threads included, run meanwhile. Before input is interrupt-driven, halts
  /// until the next interrupt instead.
  static func waitForInput(after seen: UInt64) -> UInt64 {
    guard interruptDriven else {
      CPU.disableInterrupts()
      if CPU.in8(lineStatus) & lineStatusDataReady == 0 { CPU.waitForInterrupt() }
      CPU.enableInterrupts()
      return seen
    }
    return inputArrived.wait(after: seen)
  }

  /// The count `waitForInput` waits to see move.
  static var inputCount: UInt64 { inputArrived.count }

  /// Takes input by interrupt from now on.
  static func enableInterrupts() {
    Interrupts.enableIRQ(irq) { _ in receive() }
    interruptDriven = true
    CPU.out8(interruptEnable, receivedDataInterrupt)
  }

  /// Moves every waiting byte into the ring (IRQ 4).
  private static func receive() {
    interrupts &+= 1
    while CPU.in8(lineStatus) & lineStatusDataReady != 0 {
      let byte = CPU.in8(data)
      if ringTail &+ 1 == ringHead {
        dropped &+= 1
      } else {
        ring[Int(ringTail)] = byte
        ringTail &+= 1
      }
    }
    inputArrived.signal()
  }

  /// Connects the UART's output to its own input, or back to the line.
  static func setLoopback(_ on: Bool) {
    CPU.out8(modemControl, on ? modemControlLoopback : modemControlNormal)
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
    if interruptDriven {
      guard ringHead != ringTail else { return nil }
      let byte = ring[Int(ringHead)]
      ringHead &+= 1
      return byte
    }
    guard CPU.in8(lineStatus) & lineStatusDataReady != 0 else { return nil }
    return CPU.in8(data)
  }
}
