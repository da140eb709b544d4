/// A PCI function as the kernel keeps it: what the probe found, who owns it, its interrupt.
///
/// Every function the scan finds gets one, usable or not; a function whose configuration
/// is malformed keeps the reason in `problem` and is never handed out. The handle is its
/// place in `DeviceManager.devices`, stable for the whole boot.
import PCI

struct DeviceHandle: Equatable {
  let rawValue: Int
}

/// How a device's interrupt reaches the CPU, once it is handed out.
enum DeviceInterrupt: Equatable {
  /// No interrupt: none offered, or none that could be set up.
  case none
  /// MSI-X: every table entry sends `vector` to this CPU.
  case msix(vector: Int)
  /// INTx through the I/O APIC input `line`, level-triggered, shared with other devices.
  case intx(line: Int)
}

/// A BAR as its owner sees it.
struct DeviceBAR: Equatable {
  let index: Int
  let kind: BARKind
  let prefetchable: Bool
  /// The bus address, and the size in bytes.
  let base: UInt64
  let size: UInt64
  /// Where the kernel mapped a memory BAR (uncached, identity-mapped, so equal to
  /// `base`); for an I/O BAR, the first port.
  let address: UInt64
}

/// Why an ownership call was refused.
enum DeviceError: Error, Equatable {
  case noSuchDevice
  /// The device's configuration is malformed (the boot log says how): never handed out.
  case unusable
  case ownedByAnother(DomainID)
  /// The caller does not own the device.
  case notOwner
  /// The device was revoked (its owner crashed) or released while the caller waited.
  case revoked
  /// A configuration read outside the 256-byte space, misaligned, or not 1, 2 or 4 bytes.
  case badConfigurationAccess(offset: Int, width: Int)
  case noSuchBAR(Int)
  /// A memory BAR outside the lower half of the address space, which the kernel cannot
  /// identity-map.
  case unmappableBAR(Int)
  case noInterrupt

  /// What went wrong, in words.
  var name: String {
    switch self {
    case .noSuchDevice: "no such device"
    case .unusable: "the device is unusable"
    case .ownedByAnother(let owner): "owned by domain \(owner.rawValue)"
    case .notOwner: "not the owner"
    case .revoked: "revoked"
    case .badConfigurationAccess(let offset, let width):
      "no configuration access of \(width) bytes at \(offset)"
    case .noSuchBAR(let index): "no BAR\(index)"
    case .unmappableBAR(let index): "BAR\(index) cannot be mapped"
    case .noInterrupt: "no interrupt"
    }
  }
}

final class Device {
  let handle: DeviceHandle
  let function: PCIFunction
  /// Why the device is never handed out, or nil.
  let problem: String?
  let space: ConfigurationSpace<ConfigurationPorts>

  var owner: DomainID?
  /// Owned, but taken away while the owner recovers from a crash.
  var isRevoked = false
  var interrupt = DeviceInterrupt.none
  /// The MSI-X vector, once one was allocated; the device keeps it.
  var msixVector: Int?
  /// Signalled by the interrupt handler, and by revocation (to wake a waiter).
  let event = InterruptEvent()
  /// Interrupts the handler took for this device.
  var delivered: UInt64 = 0
  /// The event count the owner has seen.
  var consumed: UInt64 = 0
  /// Counts the device's hand-overs (to an owner, revoked, re-granted): a thread that
  /// waited through one was waiting for an owner's life that has ended.
  var grants: UInt64 = 0

  init(handle: DeviceHandle, function: PCIFunction, problem: String?) {
    self.handle = handle
    self.function = function
    self.problem = problem
    space = ConfigurationSpace(ConfigurationPorts(), function.address)
  }

  var address: PCIAddress { function.address }
  var header: ConfigurationHeader { function.header }

  /// The BAR lines of the boot log and the shell:
  /// "INTx A (line 11), MSI-X 2; BAR0 io 0xc000 size 0x80; ...".
  var summary: String {
    var parts = [function.interruptDescription]
    for bar in function.bars { parts.append(bar.description) }
    return function.identity + ": " + parts.joined(separator: "; ")
  }

  /// Who has it, for the shell: "free", "domain 3", "domain 3 (revoked)", "unusable".
  var ownerDescription: String {
    guard problem == nil else { return "unusable" }
    guard let owner else { return "free" }
    return "domain \(owner.rawValue)" + (isRevoked ? " (revoked)" : "")
  }
}
