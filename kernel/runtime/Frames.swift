/// Physical memory frames: every free 4 KiB page the heap did not take.
///
/// The allocator's bitmap (two bits a frame, module Memory) is carved out of the start
/// of the first free range big enough and then reserved, so it never hands itself out.
/// Thread stacks and page tables come from here; DMA buffers will.
import Memory

enum Frames {
  nonisolated(unsafe) private static var allocator = FrameAllocator(
    freeRanges: [], bitmap: UnsafeMutableRawPointer(bitPattern: 8)!)

  /// Manages `free` (page-aligned ranges nobody else uses).
  static func setUp(free: [Range<UInt64>]) {
    let bytes = UInt64(FrameAllocator.bitmapBytes(for: free))
    let size = Paging.roundUp(bytes)
    guard let home = free.first(where: { UInt64($0.count) >= size }) else {
      Log.warning("frames: no room for the bitmap; no frames available")
      return
    }
    let bitmap = home.lowerBound..<(home.lowerBound + size)
    let pointer = UnsafeMutableRawPointer(bitPattern: UInt(bitmap.lowerBound))!
    allocator = FrameAllocator(freeRanges: free, bitmap: pointer)
    allocator.reserve(bitmap)
  }

  static func allocate() -> PhysicalFrame? {
    withInterruptsDisabled { try? allocator.allocate() }
  }

  /// `count` physically contiguous frames, the first aligned to `alignment` bytes.
  static func allocateContiguous(count: Int, alignment: UInt64 = Paging.pageSize) -> PhysicalFrame?
  {
    withInterruptsDisabled { try? allocator.allocateContiguous(count: count, alignment: alignment) }
  }

  static func free(_ first: PhysicalFrame, count: Int = 1) {
    let failure = withInterruptsDisabled { () -> FrameAllocatorError? in
      do throws(FrameAllocatorError) {
        try allocator.freeContiguous(first, count: count)
        return nil
      } catch {
        return error
      }
    }
    if let failure { panic("frames: \(failure.message) (\(hex: first.address), \(count) frames)") }
  }

  static var statistics: FrameStatistics { withInterruptsDisabled { allocator.statistics } }
}
