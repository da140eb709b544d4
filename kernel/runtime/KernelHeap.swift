/// The kernel heap: what Swift's runtime allocates from.
///
/// A size-class heap (module Memory): requests up to 2 KiB come from 4 KiB slabs, one
/// size class each, whose pages are frames (`Frames`); larger ones from a first-fit
/// region. Before the frame allocator exists, while the boot information is parsed,
/// slab pages come from half of a 1 MiB region reserved in the kernel image
/// (boot/entry.asm), and the other half is the first large region. Then
/// `addUsableMemory` adds the largest piece of free memory (see `Kernel.freeMemory`), up
/// to `maximumSize`, as the main large region; the frame allocator gets the rest.
import BootInfo
import Memory

enum KernelHeap {
  nonisolated(unsafe) private static var heap = SizeClassHeap(pageSource: SlabPages())
  /// The memory `addUsableMemory` gave the heap.
  nonisolated(unsafe) private(set) static var usableRegion: Range<UInt64> = 0..<0

  /// The early heap does not take all of memory: the frame allocator will own the rest.
  static let maximumSize: UInt64 = 64 << 20

  static func startBootstrap() {
    let start = LinkerAddress.bootstrapHeapStart.value
    let end = LinkerAddress.bootstrapHeapEnd.value
    let middle = start + (end - start) / 2
    BootstrapPages.setUp(start..<middle)
    guard heap.addLargeRegion(base: pointer(middle), size: Int(end - middle)) else {
      panic("heap: cannot use the bootstrap region \(hex: middle)-\(hex: end)")
    }
  }

  /// Adds the largest of the `free` ranges, up to `maximumSize`, and returns it.
  @discardableResult
  static func addUsableMemory(from free: [Range<UInt64>]) -> Range<UInt64> {
    guard let largest = free.max(by: { $0.count < $1.count }) else {
      Log.warning("heap: no free memory beyond the 1 MiB bootstrap region")
      return 0..<0
    }
    let piece = largest.lowerBound..<(largest.lowerBound + min(UInt64(largest.count), maximumSize))
    guard heap.addLargeRegion(base: pointer(piece.lowerBound), size: Int(piece.count)) else {
      Log.warning("heap: could not add \(hex: piece.lowerBound)-\(hex: piece.upperBound)")
      return 0..<0
    }
    usableRegion = piece
    return piece
  }

  /// Threads and interrupt handlers share the heap: every operation runs with
  /// interrupts disabled (sched/InterruptLock.swift).
  /// `framePointer` is the caller's, for the heap census (kernel/debug/HeapCensus.swift).
  static func allocate(size: Int, alignment: Int, framePointer: UInt64 = 0)
    -> UnsafeMutableRawPointer?
  {
    withInterruptsDisabled {
      let memory = heap.allocate(size: size, alignment: alignment)
      if let memory, HeapCensus.isOn {
        HeapCensus.allocated(
          UInt64(UInt(bitPattern: memory)), size: size, framePointer: framePointer)
      }
      return memory
    }
  }

  static func free(_ memory: UnsafeMutableRawPointer) {
    let failure = withInterruptsDisabled { () -> HeapFreeError? in
      if HeapCensus.isOn { HeapCensus.freed(UInt64(UInt(bitPattern: memory))) }
      do throws(HeapFreeError) {
        try heap.free(memory)
        return nil
      } catch {
        return error
      }
    }
    if let failure { panic("heap: \(failure.message) (\(hex: failure.address))") }
  }

  /// Whether `address` is in one of the regions large requests are served from.
  static func isLargeRegion(_ address: UInt64) -> Bool {
    let bootstrap = LinkerAddress.bootstrapHeapStart.value..<LinkerAddress.bootstrapHeapEnd.value
    return usableRegion.contains(address)
      || (bootstrap.contains(address) && !BootstrapPages.contains(address))
  }

  static var statistics: HeapStatistics { withInterruptsDisabled { heap.statistics } }
  static func verify() -> Bool { heap.verify() }

  private static func pointer(_ address: UInt64) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: UInt(address))!
  }
}

/// Where the heap's slabs come from: frames, or the bootstrap pages before there are
/// frames (and when they run out). Called with interrupts disabled, by the heap.
struct SlabPages: PageSource {
  mutating func allocatePage() -> UnsafeMutableRawPointer? {
    if let frame = Frames.allocate() {
      return UnsafeMutableRawPointer(bitPattern: UInt(frame.address))
    }
    return BootstrapPages.take()
  }

  mutating func freePage(_ page: UnsafeMutableRawPointer) {
    let address = UInt64(UInt(bitPattern: page))
    if BootstrapPages.contains(address) {
      BootstrapPages.give(page)
    } else {
      Frames.free(PhysicalFrame(address: address))
    }
  }
}

/// The pages of the bootstrap region lent to slabs, kept on a list threaded through
/// the free pages themselves.
enum BootstrapPages {
  nonisolated(unsafe) private static var range: Range<UInt64> = 0..<0
  nonisolated(unsafe) private static var firstFree: UnsafeMutableRawPointer?

  static func setUp(_ pages: Range<UInt64>) {
    range = pages
    var address = pages.upperBound
    while address > pages.lowerBound {
      address -= Paging.pageSize
      give(UnsafeMutableRawPointer(bitPattern: UInt(address))!)
    }
  }

  static func contains(_ address: UInt64) -> Bool { range.contains(address) }

  static func take() -> UnsafeMutableRawPointer? {
    guard let page = firstFree else { return nil }
    firstFree = page.load(as: UnsafeMutableRawPointer?.self)
    return page
  }

  static func give(_ page: UnsafeMutableRawPointer) {
    page.storeBytes(of: firstFree, as: UnsafeMutableRawPointer?.self)
    firstFree = page
  }
}
