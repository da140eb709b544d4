/// The two 8259 PICs of the PC: moved out of the way and silenced.
///
/// The local and I/O APICs deliver interrupts instead. The PICs still power up
/// pointing IRQs at vectors 8-15, which are CPU exceptions, so they are reprogrammed to
/// vectors 0xE0-0xEF before every line is masked; a spurious IRQ 7 or 15 that still
/// gets through lands there and is ignored.
enum LegacyPIC {
  static let vectorBase = 0xE0
  private static let masterCommand: UInt16 = 0x20
  private static let masterData: UInt16 = 0x21
  private static let slaveCommand: UInt16 = 0xA0
  private static let slaveData: UInt16 = 0xA1

  static func disable() {
    CPU.out8(masterCommand, 0x11)  // ICW1: initialise, ICW4 follows
    CPU.out8(slaveCommand, 0x11)
    CPU.out8(masterData, UInt8(vectorBase))  // ICW2: vector offsets
    CPU.out8(slaveData, UInt8(vectorBase + 8))
    CPU.out8(masterData, 0x04)  // ICW3: slave on IRQ 2
    CPU.out8(slaveData, 0x02)
    CPU.out8(masterData, 0x01)  // ICW4: 8086 mode
    CPU.out8(slaveData, 0x01)
    CPU.out8(masterData, 0xFF)  // mask everything
    CPU.out8(slaveData, 0xFF)
  }
}
