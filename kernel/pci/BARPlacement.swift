/// Placing BARs the firmware left unassigned.
///
/// SeaBIOS assigns every BAR before the kernel runs; qboot, QEMU's fast firmware and
/// the default here, assigns none (it leaves that to the operating system). So the kernel
/// places what is unassigned itself: memory BARs in a window below 4 GiB (64-bit ones too,
/// so every BAR is inside the kernel's identity-mapped, lower-half address space), I/O
/// BARs in an I/O window, each aligned to its size, clear of everything already in use
/// (RAM, firmware-assigned BARs, the APICs). Largest first, which packs power-of-two
/// sizes without holes.
public struct AddressWindow: Sendable {
  public let window: Range<UInt64>
  private var used: [Range<UInt64>]

  public init(_ window: Range<UInt64>, avoiding used: [Range<UInt64>]) {
    self.window = window
    self.used = used.filter { !$0.isEmpty }
  }

  /// The lowest `size`-aligned range of `size` bytes in the window that overlaps
  /// nothing in use, now in use; nil if there is none. `size` is a power of two.
  public mutating func allocate(size: UInt64) -> UInt64? {
    precondition(size > 0 && size & (size - 1) == 0, "BAR sizes are powers of two")
    var candidate = alignUp(window.lowerBound, size)
    while let start = candidate, start <= window.upperBound, size <= window.upperBound - start {
      let range = start..<(start + size)
      guard
        let blocker = used.filter({ $0.overlaps(range) }).max(by: { $0.upperBound < $1.upperBound })
      else {
        used.append(range)
        return start
      }
      candidate = alignUp(blocker.upperBound, size)
    }
    return nil
  }

  private func alignUp(_ value: UInt64, _ alignment: UInt64) -> UInt64? {
    let (sum, overflow) = value.addingReportingOverflow(alignment - 1)
    return overflow ? nil : sum & ~(alignment - 1)
  }
}

/// One BAR to point somewhere.
public struct BARAssignment: Equatable, Sendable {
  public var address: PCIAddress
  public var bar: Int
  public var base: UInt64
}

public enum BARPlacement {
  /// Where each unassigned BAR of `functions` goes, in `memory` or `io`, clear of
  /// `reserved` memory and of every assigned BAR. Functions behind a bridge are not
  /// placed (the bridge's windows would need setting up too): an error each, as is a
  /// BAR for which the window has no room.
  public static func plan(
    _ functions: [PCIFunction], memory: Range<UInt64>, io: Range<UInt64>,
    reserved: [Range<UInt64>]
  ) -> (assignments: [BARAssignment], problems: [PCIError]) {
    var memoryInUse = reserved
    var ioInUse: [Range<UInt64>] = []
    var unassigned: [(PCIAddress, BaseAddressRegister)] = []
    for function in functions {
      for bar in function.bars {
        if bar.isAssigned && bar.kind == .io {
          ioInUse.append(bar.range)
        } else if bar.isAssigned {
          memoryInUse.append(bar.range)
        } else {
          unassigned.append((function.address, bar))
        }
      }
    }
    var memoryWindow = AddressWindow(memory, avoiding: memoryInUse)
    var ioWindow = AddressWindow(io, avoiding: ioInUse)
    var assignments: [BARAssignment] = []
    var problems: [PCIError] = []
    unassigned.sort { $0.1.size > $1.1.size || ($0.1.size == $1.1.size && $0.0 < $1.0) }
    for (address, bar) in unassigned {
      guard address.bus == 0 else {
        problems.append(.unassignedBehindBridge(address, bar: bar.index))
        continue
      }
      let base =
        bar.kind == .io ? ioWindow.allocate(size: bar.size) : memoryWindow.allocate(size: bar.size)
      if let base {
        assignments.append(BARAssignment(address: address, bar: bar.index, base: base))
      } else {
        problems.append(.noRoomForBAR(address, bar: bar.index, size: bar.size))
      }
    }
    return (assignments, problems)
  }
}
