/// What the PCI fuzz target does with one input, and what the unit tests do with each kept
/// input: functions whose configuration spaces the input gives, found, probed and placed
/// as the kernel's `DeviceManager.scan` does it (bus scan, BAR sizing, the capability
/// list, MSI-X and MSI, BAR placement and assignment), checking what must hold of each
/// step. Shared by the libFuzzer target (tests/fuzz, `make fuzz`) and
/// `PCIFuzzReplayTests`; nothing here may import Testing, which the fuzzer is built
/// without.
///
/// An input is a function count (1-8, from one byte), then per function: its bus (0-3),
/// device and function numbers (a byte each, reduced), the 256 bytes of its configuration
/// space, and six 32-bit masks, the bits of each BAR register a write can change (the
/// address bits it decodes): what the all-ones sizing write reads back. Missing bytes
/// are zero; a later function at the same address replaces an earlier one.
import FuzzSupport
import PCI

enum PCIFuzzing {
  /// The kernel's windows for unassigned BARs, and what it keeps them clear of.
  static let memoryWindow: Range<UInt64> = 0xE000_0000..<0xFEC0_0000
  static let ioWindow: Range<UInt64> = 0xC000..<0x1_0000
  static let reserved: [Range<UInt64>] = [
    0..<0x1000_0000, 0xFEC0_0000..<0xFEC0_1000, 0xFEE0_0000..<0xFEE0_1000,
  ]

  /// Functions' configuration spaces as the input gives them; absent ones read as all
  /// ones. Traps on an access configuration mechanism #1 cannot make.
  final class InputBus: ConfigurationAccess {
    final class Function {
      var bytes: [UInt8]
      /// Per BAR register (0-5): the bits a write changes.
      let writable: [UInt32]

      init(bytes: [UInt8], writable: [UInt32]) {
        self.bytes = bytes
        self.writable = writable
      }

      func read(_ offset: Int, _ width: Int) -> UInt32 {
        (0..<width).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
      }

      func write(_ offset: Int, _ width: Int, _ value: UInt32) {
        var value = value
        let barEnd = bytes[0x0E] & 0x7F == 0 ? 0x28 : bytes[0x0E] & 0x7F == 1 ? 0x18 : 0x10
        if offset >= 0x10 && offset < barEnd {
          precondition(width == 4, "BARs are written 32 bits at a time")
          let mask = writable[(offset - 0x10) / 4]
          value = value & mask | read(offset, 4) & ~mask
        }
        for index in 0..<width {
          bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
        }
      }
    }

    var functions: [PCIAddress: Function] = [:]

    init(_ input: inout FuzzInput) {
      for _ in 0..<1 + input.below(8) {
        let address = PCIAddress(
          bus: UInt8(input.below(4)), device: UInt8(input.below(32)),
          function: UInt8(input.below(8)))
        var bytes = input.bytes(256)
        bytes += [UInt8](repeating: 0, count: 256 - bytes.count)
        functions[address] = Function(bytes: bytes, writable: (0..<6).map { _ in input.uint32() })
      }
    }

    private func check(_ offset: Int, _ width: Int) {
      precondition(
        ConfigurationSpace<InputBus>.isValidAccess(offset: offset, width: width),
        "a configuration access mechanism #1 cannot make")
    }

    private func read(_ address: PCIAddress, _ offset: Int, _ width: Int) -> UInt32 {
      check(offset, width)
      return functions[address]?.read(offset, width) ?? UInt32.max >> (32 - 8 * width)
    }

    private func write(_ address: PCIAddress, _ offset: Int, _ width: Int, _ value: UInt32) {
      check(offset, width)
      functions[address]?.write(offset, width, value)
    }

    func read8(_ address: PCIAddress, _ offset: Int) -> UInt8 { UInt8(read(address, offset, 1)) }
    func read16(_ address: PCIAddress, _ offset: Int) -> UInt16 { UInt16(read(address, offset, 2)) }
    func read32(_ address: PCIAddress, _ offset: Int) -> UInt32 { read(address, offset, 4) }
    func write8(_ address: PCIAddress, _ offset: Int, _ value: UInt8) {
      write(address, offset, 1, UInt32(value))
    }
    func write16(_ address: PCIAddress, _ offset: Int, _ value: UInt16) {
      write(address, offset, 2, UInt32(value))
    }
    func write32(_ address: PCIAddress, _ offset: Int, _ value: UInt32) {
      write(address, offset, 4, value)
    }
  }

  /// Runs one input; traps if the PCI code breaks a rule. Returns the functions probed
  /// without a problem.
  @discardableResult
  static func run(_ data: [UInt8]) -> [PCIFunction] {
    var input = FuzzInput(data)
    let bus = InputBus(&input)
    let scan = BusScan(bus)
    for problem in scan.problems { precondition(!problem.message.isEmpty) }
    precondition(Set(scan.buses).count == scan.buses.count, "each bus scanned once")
    precondition(
      Set(scan.functions.map(\.address)).count == scan.functions.count, "each function once")
    var usable: [PCIFunction] = []
    for (address, header) in scan.functions {
      let function = bus.functions[address]!
      let before = function.bytes
      do throws(PCIError) {
        let probed = try PCIFunction.probe(ConfigurationSpace(bus, address), header: header)
        check(probed, function)
        usable.append(probed)
      } catch {
        precondition(!error.message.isEmpty && error.address == address)
      }
      precondition(function.bytes == before, "probing puts every register back")
    }
    place(usable, on: bus)
    return usable
  }

  private static func check(_ probed: PCIFunction, _ function: InputBus.Function) {
    _ = probed.identity
    _ = probed.interruptDescription
    var lastIndex = -1
    for bar in probed.bars {
      precondition(bar.index > lastIndex && bar.index < probed.header.layout.barCount)
      lastIndex = bar.index
      precondition(bar.size > 0 && bar.size & (bar.size - 1) == 0 && bar.base % bar.size == 0)
      _ = bar.description
    }
    var offsets = Set<Int>()
    for capability in probed.capabilities {
      precondition(capability.offset >= 0x40 && capability.offset < 256)
      precondition(capability.offset % 4 == 0 && offsets.insert(capability.offset).inserted)
      precondition(capability.id == function.bytes[capability.offset])
    }
    if let msix = probed.msix {
      for (index, offset, length) in [
        (msix.tableBAR, msix.tableOffset, msix.tableLength),
        (msix.pendingBitsBAR, msix.pendingBitsOffset, msix.pendingBitsLength),
      ] {
        let bar = probed.bar(index)!
        precondition(bar.kind.isMemory && offset + length <= bar.size, "MSI-X inside its BAR")
      }
      let last = msix.entryOffset(msix.tableSize - 1)
      precondition(last + UInt64(MSIXCapability.entrySize) <= probed.bar(msix.tableBAR)!.size)
    }
    if let msi = probed.msi {
      precondition(msi.dataOffset + 2 <= 256 && msi.vectorsCapable >= 1)
    }
  }

  /// Places the unassigned BARs as the kernel does, then assigns them: each in its window,
  /// aligned, clear of reserved memory, of assigned BARs and of each other.
  private static func place(_ functions: [PCIFunction], on bus: InputBus) {
    let plan = BARPlacement.plan(functions, memory: memoryWindow, io: ioWindow, reserved: reserved)
    for problem in plan.problems { precondition(!problem.message.isEmpty) }
    var taken: [(io: Bool, range: Range<UInt64>)] = functions.flatMap { function in
      function.bars.filter(\.isAssigned).map { ($0.kind == .io, $0.range) }
    }
    for assignment in plan.assignments {
      let function = functions.first { $0.address == assignment.address }!
      let bar = function.bar(assignment.bar)!
      precondition(!bar.isAssigned && assignment.base % bar.size == 0)
      let window = bar.kind == .io ? ioWindow : memoryWindow
      let range = assignment.base..<assignment.base + bar.size
      precondition(window.lowerBound <= range.lowerBound && range.upperBound <= window.upperBound)
      precondition(bar.kind == .io || !reserved.contains { $0.overlaps(range) })
      precondition(!taken.contains { $0.io == (bar.kind == .io) && $0.range.overlaps(range) })
      taken.append((bar.kind == .io, range))
      let space = ConfigurationSpace(bus, assignment.address)
      let assigned = bar.assign(assignment.base, in: space)
      precondition(assigned.base == assignment.base)
    }
  }
}
