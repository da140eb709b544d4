/// PCI configuration mechanism #1: configuration space through I/O ports 0xCF8/0xCFC.
///
/// Writing an address (enable bit, bus, device, function, register dword) to 0xCF8
/// selects a dword that 0xCFC-0xCFF then read and write; a 1- or 2-byte access uses the
/// matching port inside that window. The two steps must not be split by another access,
/// and an interrupt handler (the INTx handler) makes accesses too, so each runs with
/// interrupts disabled.
import PCI

struct ConfigurationPorts: ConfigurationAccess {
  private static let addressPort: UInt16 = 0xCF8
  private static let dataPort: UInt16 = 0xCFC

  func read8(_ address: PCIAddress, _ offset: Int) -> UInt8 {
    withInterruptsDisabled {
      select(address, offset)
      return CPU.in8(Self.dataPort + UInt16(offset & 3))
    }
  }

  func read16(_ address: PCIAddress, _ offset: Int) -> UInt16 {
    withInterruptsDisabled {
      select(address, offset)
      return CPU.in16(Self.dataPort + UInt16(offset & 2))
    }
  }

  func read32(_ address: PCIAddress, _ offset: Int) -> UInt32 {
    withInterruptsDisabled {
      select(address, offset)
      return CPU.in32(Self.dataPort)
    }
  }

  func write8(_ address: PCIAddress, _ offset: Int, _ value: UInt8) {
    withInterruptsDisabled {
      select(address, offset)
      CPU.out8(Self.dataPort + UInt16(offset & 3), value)
    }
  }

  func write16(_ address: PCIAddress, _ offset: Int, _ value: UInt16) {
    withInterruptsDisabled {
      select(address, offset)
      CPU.out16(Self.dataPort + UInt16(offset & 2), value)
    }
  }

  func write32(_ address: PCIAddress, _ offset: Int, _ value: UInt32) {
    withInterruptsDisabled {
      select(address, offset)
      CPU.out32(Self.dataPort, value)
    }
  }

  private func select(_ address: PCIAddress, _ offset: Int) {
    precondition(offset >= 0 && offset < 256, "outside configuration space")
    let value =
      1 << 31 | UInt32(address.bus) << 16 | UInt32(address.device) << 11
      | UInt32(address.function) << 8 | UInt32(offset & 0xFC)
    CPU.out32(Self.addressPort, value)
  }
}
