/// The kernel heap: what Swift's runtime allocates from.
///
/// It starts with a 1 MiB region reserved in the kernel image (boot/entry.asm), enough
/// to parse the boot information, which allocates. Then `addUsableMemory` gives it the
/// largest piece of free memory (see `Kernel.freeMemory`), up to `maximumSize`; the
/// frame allocator gets the rest.
import BootInfo
import Memory

enum KernelHeap {
  nonisolated(unsafe) private static var heap = FreeListHeap()
  /// The memory `addUsableMemory` gave the heap.
  nonisolated(unsafe) private(set) static var usableRegion: Range<UInt64> = 0..<0

  /// The early heap does not take all of memory: the frame allocator will own the rest.
  static let maximumSize: UInt64 = 64 << 20

  static func startBootstrap() {
    let start = LinkerAddress.bootstrapHeapStart.value
    let end = LinkerAddress.bootstrapHeapEnd.value
    guard heap.addRegion(base: pointer(start), size: Int(end - start)) else {
      panic("heap: cannot use the bootstrap region \(hex: start)-\(hex: end)")
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
    guard heap.addRegion(base: pointer(piece.lowerBound), size: Int(piece.count)) else {
      Log.warning("heap: could not add \(hex: piece.lowerBound)-\(hex: piece.upperBound)")
      return 0..<0
    }
    usableRegion = piece
    return piece
  }

  /// Threads and interrupt handlers share the heap: every operation runs with
  /// interrupts disabled (sched/InterruptLock.swift).
  static func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
    withInterruptsDisabled { heap.allocate(size: size, alignment: alignment) }
  }

  static func free(_ memory: UnsafeMutableRawPointer) {
    let failure = withInterruptsDisabled { () -> HeapFreeError? in
      do throws(HeapFreeError) {
        try heap.free(memory)
        return nil
      } catch {
        return error
      }
    }
    if let failure { panic("heap: \(failure.message) (\(hex: failure.address))") }
  }

  static var statistics: HeapStatistics { withInterruptsDisabled { heap.statistics } }
  static func verify() -> Bool { heap.verify() }

  private static func pointer(_ address: UInt64) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: UInt(address))!
  }
}
