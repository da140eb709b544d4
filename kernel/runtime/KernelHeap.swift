/// The kernel heap: what Swift's runtime allocates from.
///
/// It starts with a 1 MiB region reserved in the kernel image (boot/entry.asm), enough
/// to parse the boot information, which allocates. Then `addUsableMemory` gives it the
/// largest piece of free memory the memory map shows, clear of the kernel image, the
/// boot information and the boot modules, up to `maximumSize`.
import BootInfo
import Memory

enum KernelHeap {
  nonisolated(unsafe) private static var heap = FreeListHeap()
  /// The memory `addUsableMemory` gave the heap.
  nonisolated(unsafe) private(set) static var usableRegion: Range<UInt64> = 0..<0

  /// The early heap does not take all of memory: the frame allocator will own the rest.
  static let maximumSize: UInt64 = 64 << 20
  /// Memory below 1 MiB holds firmware tables and the loader's data: left alone.
  static let lowMemoryEnd: UInt64 = 1 << 20
  /// boot/entry.asm maps only the first 4 GiB.
  static let mappedEnd: UInt64 = 1 << 32

  static func startBootstrap() {
    let start = LinkerAddress.bootstrapHeapStart.value
    let end = LinkerAddress.bootstrapHeapEnd.value
    guard heap.addRegion(base: pointer(start), size: Int(end - start)) else {
      panic("heap: cannot use the bootstrap region \(hex: start)-\(hex: end)")
    }
  }

  /// Adds the largest free piece of usable memory and returns it (empty if none).
  @discardableResult
  static func addUsableMemory(_ boot: BootInfo) -> Range<UInt64> {
    var reserved = boot.infoRanges
    reserved.append(0..<lowMemoryEnd)
    reserved.append(LinkerAddress.kernelStart.value..<LinkerAddress.kernelEnd.value)
    for module in boot.modules { reserved.append(module.start..<module.end) }
    let free = boot.freeRanges(excluding: reserved, below: mappedEnd)
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

  static func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
    heap.allocate(size: size, alignment: alignment)
  }

  static func free(_ memory: UnsafeMutableRawPointer) {
    do {
      try heap.free(memory)
    } catch {
      panic("heap: \(error.message) (\(hex: error.address))")
    }
  }

  static var statistics: HeapStatistics { heap.statistics }
  static func verify() -> Bool { heap.verify() }

  private static func pointer(_ address: UInt64) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: UInt(address))!
  }
}
