/// The I/O APIC: routes device interrupt lines to vectors on a CPU.
///
/// At the address every PC and QEMU use (reading it from the ACPI MADT is still to do).
/// ISA IRQs are assumed to map to the same-numbered input, true for the lines the kernel
/// uses (COM1 is IRQ 4, PCI INTx on QEMU's i440fx lines 10 and 11); the timer (ISA IRQ
/// 0, input 2 on QEMU) is not used. Register access is indirect: write a register
/// number to IOREGSEL, then use IOWIN.
enum IOAPIC {
  static let base: UInt64 = 0xFEC0_0000
  private static let registerSelect: UInt64 = 0x00
  private static let registerWindow: UInt64 = 0x10
  private static let versionRegister: UInt32 = 0x01
  private static let firstRedirection: UInt32 = 0x10
  private static let maskedEntry: UInt32 = 1 << 16
  private static let levelTriggeredEntry: UInt32 = 1 << 15

  nonisolated(unsafe) private(set) static var inputCount = 0

  /// Maps the registers and masks every input.
  static func initialize() {
    Paging.mapDevice(base..<(base + 0x1000))
    inputCount = Int((read(versionRegister) >> 16) & 0xFF) + 1
    for input in 0..<inputCount { mask(input) }
  }

  /// Delivers input `input` as `vector` to the local APIC with ID `apicID`: fixed
  /// delivery, active high; edge-triggered (ISA lines) unless `levelTriggered` (PCI
  /// INTx, which QEMU's PIIX3 routes to ISA lines active high, as its ACPI tables say).
  static func route(input: Int, vector: Int, apicID: UInt32, levelTriggered: Bool = false) {
    write(firstRedirection + UInt32(input) * 2 + 1, apicID << 24)
    write(
      firstRedirection + UInt32(input) * 2,
      UInt32(vector) | (levelTriggered ? levelTriggeredEntry : 0))
  }

  static func mask(_ input: Int) {
    write(firstRedirection + UInt32(input) * 2, maskedEntry)
  }

  static func redirection(_ input: Int) -> UInt32 {
    read(firstRedirection + UInt32(input) * 2)
  }

  private static func read(_ register: UInt32) -> UInt32 {
    CPU.write32(base + registerSelect, register)
    return CPU.read32(base + registerWindow)
  }

  private static func write(_ register: UInt32, _ value: UInt32) {
    CPU.write32(base + registerSelect, register)
    CPU.write32(base + registerWindow, value)
  }
}
