// What the boot loader tells the kernel: memory map, command line, boot modules.
//
// Two protocols deliver it. GRUB boots the kernel with multiboot2, whose information is
// one block of tags; QEMU's `-kernel` speaks only multiboot1, whose information is a
// structure of pointers to buffers elsewhere. Both become one `BootInfo`. The parser
// never touches memory itself: it reads through the `PhysicalMemory` its caller gives,
// so host tests can hand it fake memory. Every pointer, size and count is checked
// against what can be read before it is followed, and every loop is bounded by the
// bytes it walks, so malformed information is a `BootInfoError` naming the problem,
// never a crash or a hang.

/// Which multiboot protocol the loader used.
public enum BootProtocol: Equatable, Sendable {
  /// Multiboot 0.6.96: QEMU's `-kernel`.
  case multiboot1
  /// Multiboot2: GRUB.
  case multiboot2

  /// The protocol's name, as error messages print it.
  var name: String {
    switch self {
    case .multiboot1: "multiboot1"
    case .multiboot2: "multiboot2"
    }
  }
}

/// What a range of physical memory may be used for. Both protocols number the kinds alike.
public enum MemoryKind: Equatable, Sendable {
  /// Free RAM.
  case available
  /// Not for the kernel: firmware, devices, holes, and every type number not listed here.
  case reserved
  /// ACPI tables; free once the kernel has read them.
  case acpiReclaimable
  /// ACPI non-volatile storage, to be preserved across sleep.
  case acpiNVS
  /// RAM the firmware found faulty.
  case defective

  /// The kind a multiboot memory map type number stands for.
  init(multibootType type: UInt32) {
    switch type {
    case 1: self = .available
    case 3: self = .acpiReclaimable
    case 4: self = .acpiNVS
    case 5: self = .defective
    default: self = .reserved
    }
  }
}

/// One entry of the memory map: `length` bytes from `start`.
public struct MemoryRegion: Equatable, Sendable {
  /// The first physical address of the region.
  public var start: UInt64
  /// The region's size in bytes.
  public var length: UInt64
  /// What the region may be used for.
  public var kind: MemoryKind

  /// The first address past the region. Saturates at `UInt64.max` rather than trapping on
  /// a region built by hand that wraps; the parser rejects such regions.
  public var end: UInt64 {
    let (sum, wraps) = start.addingReportingOverflow(length)
    return wraps ? .max : sum
  }

  /// A region of `length` bytes from `start`.
  public init(start: UInt64, length: UInt64, kind: MemoryKind) {
    self.start = start
    self.length = length
    self.kind = kind
  }
}

/// A file the loader put in memory beside the kernel, at [start, end).
public struct BootModule: Equatable, Sendable {
  /// The module's first physical address.
  public var start: UInt64
  /// The first address past the module; never below `start`.
  public var end: UInt64
  /// The words the loader's configuration gave with the module ("" when none).
  public var commandLine: String

  /// A module at [start, end) with its command line.
  public init(start: UInt64, end: UInt64, commandLine: String) {
    self.start = start
    self.end = end
    self.commandLine = commandLine
  }
}

/// The boot information, whichever protocol delivered it.
public struct BootInfo: Sendable {
  /// The protocol the loader used.
  public var bootProtocol: BootProtocol
  /// The loader's name for itself ("" when it gives none).
  public var bootLoaderName: String
  /// The kernel command line ("" when there is none).
  public var commandLine: String
  /// The memory map in the loader's order. When the loader gives only the size of lower
  /// and upper memory, two available regions: from 0, and from 1 MiB.
  public var memoryMap: [MemoryRegion]
  /// The boot modules in the loader's order.
  public var modules: [BootModule]
  /// The physical ranges the boot information itself occupies, for the kernel to keep out
  /// of its heap. Multiboot2: the whole block. Multiboot1: the info structure, the memory
  /// map buffer, the command line, the module list and each module's string, and the
  /// loader's name. Strings count with their NUL.
  public var infoRanges: [Range<UInt64>]

  /// Boot information with the given contents.
  public init(
    bootProtocol: BootProtocol, bootLoaderName: String, commandLine: String,
    memoryMap: [MemoryRegion], modules: [BootModule], infoRanges: [Range<UInt64>]
  ) {
    self.bootProtocol = bootProtocol
    self.bootLoaderName = bootLoaderName
    self.commandLine = commandLine
    self.memoryMap = memoryMap
    self.modules = modules
    self.infoRanges = infoRanges
  }

  /// Boot information with nothing in it yet, for a parser to fill.
  init(bootProtocol: BootProtocol) {
    self.init(
      bootProtocol: bootProtocol, bootLoaderName: "", commandLine: "", memoryMap: [],
      modules: [], infoRanges: [])
  }

  /// The bytes in available regions. Saturates rather than trapping if overlapping
  /// regions add up past `UInt64.max`.
  public var usableBytes: UInt64 {
    var total: UInt64 = 0
    for region in memoryMap where region.kind == .available {
      let (sum, wraps) = total.addingReportingOverflow(region.length)
      total = wraps ? .max : sum
    }
    return total
  }
}

/// Parses the boot information at `infoAddress`; `magic` (EAX at kernel entry) decides
/// which protocol. Reads memory only through `memory`.
///
/// Throws `BootInfoError` when the magic is neither protocol's or the information is
/// malformed; the error's `message` names the problem.
public func parseBootInfo<M: PhysicalMemory>(
  magic: UInt32, infoAddress: UInt64, memory: M
) throws(BootInfoError) -> BootInfo {
  let loaderMemory = LoaderMemory(memory: memory)
  switch magic {
  case Multiboot2.magic: return try Multiboot2.parse(at: infoAddress, in: loaderMemory)
  case Multiboot1.magic: return try Multiboot1.parse(at: infoAddress, in: loaderMemory)
  default: throw .badMagic(magic)
  }
}

/// The two regions a loader's lower and upper memory sizes (in KiB) describe.
func regions(lowerKiB: UInt32, upperKiB: UInt32) -> [MemoryRegion] {
  [
    MemoryRegion(start: 0, length: UInt64(lowerKiB) * 1024, kind: .available),
    MemoryRegion(start: 1 << 20, length: UInt64(upperKiB) * 1024, kind: .available),
  ]
}
