/// Where a PCI INTx pin arrives on QEMU's i440fx: the PIIX3's PIRQ routing.
///
/// On this chipset the four PCI interrupt wires PIRQA-D go through route registers in
/// the PIIX3 (configuration offsets 0x60-0x63 of 00:01.0) to ISA IRQs, and a device's
/// pins are rotated onto the wires by its slot: pin INTA# of device d drives PIRQ
/// (d - 1) mod 4, INTB# the next one, and so on. The firmware is meant to write the
/// result into each device's interrupt line register, but qboot rotates by one slot
/// too many (it puts 00:04.0 on IRQ 10 where the PIIX3 delivers IRQ 11), so the kernel
/// works the line out itself here and trusts the register only on other chipsets.
public enum PIIXRouting {
  public static let hostBridgeID: (vendor: UInt16, device: UInt16) = (0x8086, 0x1237)
  public static let isaBridgeID: (vendor: UInt16, device: UInt16) = (0x8086, 0x7000)
  public static let isaBridge = PCIAddress(bus: 0, device: 1, function: 0)
  /// PIRQA's route register in the ISA bridge; B, C, D follow.
  public static let firstRouteRegister = 0x60

  /// The wire (0-3 for PIRQA-D) that pin `pin` (1-4) of bus-0 device `device` drives.
  public static func pirq(device: UInt8, pin: UInt8) -> Int {
    precondition(pin >= 1 && pin <= 4, "not an INTx pin")
    return (Int(device) + Int(pin) - 2) & 3
  }

  /// The ISA IRQ a route register value sends its wire to; nil when routing is off
  /// (bit 7) or the IRQ is not one of 0-15.
  public static func line(routeRegister value: UInt8) -> UInt8? {
    value & 0x80 == 0 && value < 16 ? value : nil
  }
}
