/// What the multiboot fuzz target does with one input, and what the unit tests do with
/// each kept input: the boot information a loader could hand the kernel, parsed as the
/// kernel parses it, then the command line and the free memory worked out from it as
/// `kmain` does, checking what must hold of each. Shared by the libFuzzer target
/// (tests/fuzz, `make fuzz`) and `BootInfoFuzzReplayTests`; nothing here may import
/// Testing, which the fuzzer is built without.
///
/// An input is one control byte, then the loader's memory: the bytes are readable at
/// `base` plus the control byte's bits 1-3 (so that a misaligned multiboot2 block can
/// be tried), and nothing else is. Bit 0 picks the protocol: multiboot2 if set. The
/// information's own address is the start of those bytes; multiboot1's pointers are
/// absolute, so its seeds point into that range.
import BootInfo

enum BootInfoFuzzing {
  static let base: UInt64 = 0x1_0000
  static let multiboot1Magic: UInt32 = 0x2BAD_B002
  static let multiboot2Magic: UInt32 = 0x36D7_6289
  /// What `kmain` keeps out of the free memory besides the information and the modules.
  static let lowMemory: Range<UInt64> = 0..<(1 << 20)
  static let mappedEnd: UInt64 = 1 << 32

  /// Runs one input; traps if the parser breaks a rule. Returns the information if it
  /// parsed.
  @discardableResult
  static func run(_ data: [UInt8]) -> BootInfo? {
    guard let control = data.first else { return nil }
    let address = base + UInt64(control >> 1 & 7)
    var memory = FakeMemory()
    memory.map(Array(data.dropFirst()), at: address)
    let readable = address..<address + UInt64(data.count - 1)
    let magic = control & 1 != 0 ? multiboot2Magic : multiboot1Magic
    let boot: BootInfo
    do throws(BootInfoError) {
      boot = try parseBootInfo(magic: magic, infoAddress: address, memory: memory)
    } catch {
      precondition(!error.message.isEmpty, "every refusal says why")
      return nil
    }
    check(boot, readable: readable)
    _ = KernelOptions(parsing: boot.commandLine)
    checkFreeMemory(boot)
    return boot
  }

  private static func check(_ boot: BootInfo, readable: Range<UInt64>) {
    precondition(!boot.memoryMap.isEmpty, "a memory map, from one source or the other")
    for region in boot.memoryMap {
      precondition(!region.start.addingReportingOverflow(region.length).overflow)
    }
    for module in boot.modules {
      precondition(module.start <= module.end)
      precondition(!module.commandLine.utf8.contains(0))
    }
    precondition(!boot.commandLine.utf8.contains(0) && !boot.bootLoaderName.utf8.contains(0))
    for range in boot.infoRanges {
      precondition(
        range.lowerBound >= readable.lowerBound && range.upperBound <= readable.upperBound,
        "the information's ranges are what the parser read")
    }
    _ = boot.usableBytes
  }

  /// The free memory `kmain` gives the heap and the frame allocator: whole pages of
  /// available memory below 4 GiB, in address order, clear of everything kept. (Pieces
  /// may overlap where the loader's regions do; the frame allocator counts them once.)
  private static func checkFreeMemory(_ boot: BootInfo) {
    var reserved = boot.infoRanges + [lowMemory]
    for module in boot.modules { reserved.append(module.start..<module.end) }
    let free = boot.freeRanges(excluding: reserved, below: mappedEnd)
    var previousStart: UInt64 = 0
    for range in free {
      precondition(!range.isEmpty && range.lowerBound % 4096 == 0 && range.upperBound % 4096 == 0)
      precondition(range.lowerBound >= previousStart && range.upperBound <= mappedEnd)
      previousStart = range.lowerBound
      precondition(
        boot.memoryMap.contains {
          $0.kind == .available && $0.start <= range.lowerBound && range.upperBound <= $0.end
        }, "free memory lies in one available region")
      precondition(!reserved.contains { $0.overlaps(range) }, "free memory keeps clear")
    }
  }
}
