/// kmain: the boot sequence, from the first Swift instruction to tests or the shell.
///
/// boot/entry.asm has put the CPU in 64-bit mode with the first 4 GiB identity-mapped,
/// a GDT and TSS loaded, SSE enabled and a 64 KiB stack, and calls us with the
/// multiboot magic and the physical address of the boot information.
import BootInfo

@_cdecl("kmain")
func kmain(_ magic: UInt32, _ bootInfoAddress: UInt32) -> Never {
  Serial.initialize()  // COM1, so we can talk
  InterruptTable.load()  // from here on, exceptions print a report
  KernelHeap.startBootstrap()  // a static 1 MiB, for parsing the boot information

  // What the loader tells us: memory map, command line, modules. Malformed -> panic.
  Kernel.bootInfo = Kernel.readBootInfo(magic: magic, address: UInt64(bootInfoAddress))
  let options = KernelOptions(parsing: Kernel.bootInfo.commandLine)
  if options.quiet { Log.threshold = .warning }
  for warning in options.warnings { Log.warning("command line: \(warning)") }

  let free = Kernel.freeMemory()  // the memory map less what the kernel must keep
  let heapRegion = KernelHeap.addUsableMemory(from: free)  // the heap proper
  Frames.setUp(free: free.flatMap { $0.subtracting(heapRegion) })  // frames: the rest
  Paging.setUp(memoryEnd: Kernel.memoryEnd)  // W^X, null page and stack guards from here on
  SharedMemory.setUp()  // the only memory domains share
  Interrupts.setUp()  // PICs off, local and I/O APICs on
  Clock.start()  // TSC and APIC timer measured; the tick starts
  Serial.enableInterrupts()  // console input by interrupt
  Scheduler.start()  // kmain becomes thread "main"; an idle thread waits for work
  DomainCall.checkLayouts()  // the call boundary as the assembly lays it out
  Kernel.initializeGlobalsInterruptsUse()
  CPU.enableInterrupts()
  Kernel.printBanner()
  DeviceManager.scan(memoryMap: Kernel.bootInfo.memoryMap)  // PCI: find, place BARs, log
  DomainManager.loadBootModules(Kernel.bootInfo)  // every boot module is a domain
  Log.info("heap: \(mib: heapRegion.count) MiB at \(hex: heapRegion.lowerBound)")
  Log.info(
    "clock: TSC \(Clock.tscPerSecond / 1_000_000) MHz, APIC timer \(LocalAPIC.timerCountsPerMillisecond) per ms, tick \(Clock.tickHertz) Hz"
  )

  if options.testPattern != nil || options.bench != nil { Kernel.quietNetwork() }
  if let pattern = options.testPattern {
    TestRunner.run(pattern: pattern)  // leaves QEMU with the verdict
  }
  if let bench = options.bench {
    Benchmarks.run(quick: bench == "quick")  // prints BENCH lines, leaves QEMU
  }
  if let faults = options.faults {
    Campaign.run(faults)  // prints FAULT lines, leaves QEMU
  }
  Shell.run()
}

/// What the kernel knows about itself and its machine.
enum Kernel {
  static let version: StaticString = "0.1.0"

  /// Destroys the network stack and its echo service before the kernel's own tests and
  /// benchmarks: whenever they run they take buffers from the shared heap (DHCP, answers
  /// to slirp's router advertisements), which would move the shared-heap counts the leak
  /// checks compare, take CPU from timed loops, and share the NIC drivers the `net` and
  /// `e1000` test groups drive directly. The drivers stay. The stack is tested from the host (tests/qemu/test_net*.py).
  static func quietNetwork() {
    for name in ["echo", "net"] {
      if let domain = DomainManager.lookup(name), domain.state != .destroyed {
        DomainManager.destroy(domain)
      }
    }
  }

  nonisolated(unsafe) static var bootInfo = BootInfo(
    bootProtocol: .multiboot1, bootLoaderName: "", commandLine: "", memoryMap: [], modules: [],
    infoRanges: [])

  static func readBootInfo(magic: UInt32, address: UInt64) -> BootInfo {
    do {
      return try parseBootInfo(magic: magic, infoAddress: address, memory: IdentityMappedMemory())
    } catch {
      panic("boot information: \(error.message)")
    }
  }

  /// Memory below 1 MiB holds firmware tables and the loader's data: left alone.
  static let lowMemoryEnd: UInt64 = 1 << 20
  /// The boot page tables map the first 4 GiB, and so does `Paging.setUp`.
  static let mappedEnd: UInt64 = 1 << 32

  /// Available memory below `mappedEnd`, clear of low memory, the kernel image, the
  /// boot information and the boot modules, in whole pages.
  static func freeMemory() -> [Range<UInt64>] {
    var reserved = bootInfo.infoRanges
    reserved.append(0..<lowMemoryEnd)
    reserved.append(LinkerAddress.kernelStart.value..<LinkerAddress.kernelEnd.value)
    for module in bootInfo.modules { reserved.append(module.start..<module.end) }
    return bootInfo.freeRanges(excluding: reserved, below: mappedEnd)
  }

  /// The end of the highest available memory the boot page tables reach (4 GiB).
  static var memoryEnd: UInt64 {
    var end: UInt64 = 0
    for region in bootInfo.memoryMap where region.kind == .available {
      end = max(end, min(region.end, 1 << 32))
    }
    return end
  }

  /// Swift initializes a global with a non-constant value on first use, behind a
  /// once-token it spins on while another initialization is in progress. On one CPU,
  /// an interrupt handler that reaches a global whose initialization it interrupted
  /// spins forever. So every lazily initialized global an interrupt handler can reach is
  /// initialized here, before interrupts are enabled (the rest of boot has already
  /// touched the others: the heap, frames, IDT, handlers, ready queues, guard pages).
  /// A new global used from an interrupt handler belongs in this list, or is computed.
  static func initializeGlobalsInterruptsUse() {
    Serial.prepareForInterrupts()
    DomainManager.prepareForInterrupts()
    var hasher = Hasher()  // the hashing seed
    hasher.combine(1)
    _ = hasher.finalize()
  }

  /// "Swiftlet 0.1.0 ...": the first line a person sees; the harness looks for it.
  static func printBanner() {
    let boot = bootInfo
    let loader = boot.bootLoaderName.isEmpty ? "an unnamed loader" : boot.bootLoaderName
    let protocolName: StaticString = boot.bootProtocol == .multiboot2 ? "multiboot2" : "multiboot1"
    Console.print(
      "Swiftlet \(version) (x86_64, Embedded Swift): \(mib: boot.usableBytes) MiB of memory, booted by \(loader) via \(protocolName)"
    )
  }
}

/// Physical memory as the kernel sees it: identity-mapped up to 4 GiB (boot/entry.asm).
extension Range<UInt64> {
  /// This range less `hole`: zero, one or two pieces.
  func subtracting(_ hole: Range<UInt64>) -> [Range<UInt64>] {
    guard overlaps(hole) else { return [self] }
    var pieces: [Range<UInt64>] = []
    if lowerBound < hole.lowerBound { pieces.append(lowerBound..<hole.lowerBound) }
    if hole.upperBound < upperBound { pieces.append(hole.upperBound..<upperBound) }
    return pieces
  }
}

struct IdentityMappedMemory: PhysicalMemory {
  func bytes(at address: UInt64, count: Int) -> UnsafeRawBufferPointer? {
    guard count >= 0, address != 0, address < 1 << 32, UInt64(count) <= (1 << 32) - address
    else { return nil }
    return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(address)), count: count)
  }
}
