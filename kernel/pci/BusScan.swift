/// Finding every function: bus 0, then the bus behind each PCI-to-PCI bridge.
///
/// A device is present if function 0 answers; functions 1-7 are looked at only if
/// function 0's header says multi-function. Bridges name their secondary bus (the
/// firmware numbers them); a bridge naming bus 0 or a bus already scanned is reported
/// and not followed, so a misprogrammed bridge cannot make the scan loop. A host bridge
/// that is itself multi-function (several host controllers, one bus each) is not
/// followed: neither QEMU's i440fx nor q35 has one.
public struct BusScan: Sendable {
  /// Every function found, with its header, in scan order.
  public var functions: [(address: PCIAddress, header: ConfigurationHeader)] = []
  /// Bridges not followed.
  public var problems: [PCIError] = []
  /// The buses scanned, in order.
  public var buses: [UInt8] = []

  /// Scans from bus 0 through `access`.
  public init<A: ConfigurationAccess>(_ access: A) {
    var pending: [UInt8] = [0]
    while let bus = pending.first {
      pending.removeFirst()
      buses.append(bus)
      for device in UInt8(0)..<32 {
        for function in UInt8(0)..<8 {
          let address = PCIAddress(bus: bus, device: device, function: function)
          guard let header = ConfigurationHeader.read(from: ConfigurationSpace(access, address))
          else {
            if function == 0 { break }  // no device in this slot
            continue
          }
          functions.append((address, header))
          if header.layout == .pciBridge {
            let next = header.secondaryBus
            if next == 0 || buses.contains(next) || pending.contains(next) {
              problems.append(.bridgeToScannedBus(address, bus: next))
            } else {
              pending.append(next)
            }
          }
          if function == 0 && !header.isMultiFunction { break }
        }
      }
    }
  }
}
