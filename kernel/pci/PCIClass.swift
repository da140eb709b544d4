/// Names of the PCI class codes, for the boot log and the shell (PCI Code and ID
/// Assignment Specification). Only what a PC or QEMU is likely to show has a subclass
/// name; anything else gets its class name, or "class cc.ss" if even that is unknown.
public enum PCIClass {
  public static let massStorage: UInt8 = 0x01
  public static let network: UInt8 = 0x02
  public static let display: UInt8 = 0x03
  public static let bridge: UInt8 = 0x06

  public static func name(classCode: UInt8, subclass: UInt8, programmingInterface: UInt8 = 0)
    -> String
  {
    switch (classCode, subclass) {
    case (0x00, 0x01): return "VGA-compatible device"
    case (0x01, 0x00): return "SCSI storage controller"
    case (0x01, 0x01): return "IDE controller"
    case (0x01, 0x05): return "ATA controller"
    case (0x01, 0x06):
      return programmingInterface == 0x01 ? "SATA controller (AHCI)" : "SATA controller"
    case (0x01, 0x08):
      return programmingInterface == 0x02
        ? "NVM Express controller" : "non-volatile memory controller"
    case (0x02, 0x00): return "Ethernet controller"
    case (0x03, 0x00): return "VGA controller"
    case (0x04, 0x01): return "audio device"
    case (0x04, 0x03): return "HD audio controller"
    case (0x06, 0x00): return "host bridge"
    case (0x06, 0x01): return "ISA bridge"
    case (0x06, 0x04): return "PCI-to-PCI bridge"
    case (0x06, 0x07): return "CardBus bridge"
    case (0x06, 0x80): return "bridge"
    case (0x07, 0x00): return "serial controller"
    case (0x0C, 0x03): return usbName(programmingInterface)
    case (0x0C, 0x05): return "SMBus controller"
    default: break
    }
    let classNames: [String] = [
      "unclassified device", "mass storage controller", "network controller",
      "display controller", "multimedia controller", "memory controller", "bridge",
      "communication controller", "system peripheral", "input device", "docking station",
      "processor", "serial bus controller", "wireless controller", "intelligent controller",
      "satellite controller", "encryption controller", "signal processing controller",
      "processing accelerator", "instrumentation",
    ]
    let numbers =
      "class " + hexDigits(UInt64(classCode), width: 2) + "."
      + hexDigits(UInt64(subclass), width: 2)
    guard Int(classCode) < classNames.count else { return numbers }
    return classNames[Int(classCode)] + " (" + numbers + ")"
  }

  private static func usbName(_ programmingInterface: UInt8) -> String {
    switch programmingInterface {
    case 0x00: "USB controller (UHCI)"
    case 0x10: "USB controller (OHCI)"
    case 0x20: "USB controller (EHCI)"
    case 0x30: "USB controller (xHCI)"
    default: "USB controller"
    }
  }
}
