/// The physical frame allocator: hands out 4 KiB frames of RAM, one at a time or in
/// physically contiguous, aligned runs for DMA.
///
/// It keeps two bitmaps over the frames from the lowest to the highest address of the free
/// ranges it is given: one says which frames are free, the other which it manages at all
/// (those in a free range and not reserved since), so that a free of a frame in a hole is
/// caught and not taken for a gift. Both live in memory the caller provides, because the
/// kernel heap gets its memory from this allocator and so cannot be used by it.
///
/// `allocate` hands out the lowest free frame. It scans the free bitmap a word, 64 frames,
/// at a time, starting at a hint below which no frame is free, so that a run of
/// allocations does not rescan what it has just used up. Every free lowers the hint to
/// its own word if needed. Errors leave the allocator unchanged; none of them traps.
public struct FrameAllocator: ~Copyable {
  /// Bytes in a frame, and the alignment of every frame.
  public static let frameSize: UInt64 = 4096

  /// The address of frame 0 of the bitmaps, the lowest address of the free ranges.
  private let base: UInt64
  /// Frames the bitmaps cover, from `base` to the highest address of the free ranges.
  private let frameCount: Int
  /// A set bit is a free frame.
  private let free: Bitmap
  /// A set bit is a frame in a free range that has not been reserved. Every free frame
  /// is managed.
  private let managed: Bitmap
  /// The word of `free` where a search for a free frame starts: all words below are 0.
  private var searchHint = 0

  /// Frame counts, kept up to date as frames come and go.
  public private(set) var statistics = FrameStatistics()

  /// Bytes of memory `init(freeRanges:bitmap:)` needs to manage `ranges`: two bits per
  /// frame from the lowest to the highest address in `ranges`, in whole 8-byte words.
  /// Holes between the ranges cost as much as the ranges do. 0 if `ranges` holds no
  /// whole frame.
  public static func bitmapBytes(for ranges: [Range<UInt64>]) -> Int {
    guard let span = frameSpan(of: ranges) else { return 0 }
    return 2 * Bitmap.wordCount(forBits: span.frameCount) * MemoryLayout<UInt64>.size
  }

  /// Manages the frames in `ranges`, all free to begin with; every other frame is never
  /// handed out.
  ///
  /// The ranges are physical addresses, in any order, and may be empty, touch or overlap.
  /// They should be page-aligned; a range that is not loses the partial frames at its ends.
  /// `bitmap` must point to `bitmapBytes(for: ranges)` bytes, 8-byte aligned, which the
  /// allocator uses for as long as it lives; if those bytes lie inside `ranges`, `reserve`
  /// them next.
  public init(freeRanges ranges: [Range<UInt64>], bitmap: UnsafeMutableRawPointer) {
    let span = Self.frameSpan(of: ranges) ?? (base: 0, frameCount: 0)
    let wordCount = Bitmap.wordCount(forBits: span.frameCount)
    precondition(
      wordCount == 0 || UInt(bitPattern: bitmap) % UInt(MemoryLayout<UInt64>.alignment) == 0,
      "frame bitmap is not 8-byte aligned")
    let words = bitmap.bindMemory(to: UInt64.self, capacity: 2 * wordCount)
    words.initialize(repeating: 0, count: 2 * wordCount)
    base = span.base
    frameCount = span.frameCount
    free = Bitmap(words: words, wordCount: wordCount)
    managed = Bitmap(words: words + wordCount, wordCount: wordCount)

    var total = 0
    for range in ranges {
      guard let frames = frameIndices(inside: range) else { continue }
      // Counted before setting, so that frames in overlapping ranges count once.
      total += frames.count - managed.countSet(in: frames)
      managed.set(frames, to: true)
      free.set(frames, to: true)
    }
    statistics = FrameStatistics(totalFrames: total, freeFrames: total)
  }

  /// The lowest free frame.
  ///
  /// Throws `outOfMemory(requested: 1)` if no frame is free.
  public mutating func allocate() throws(FrameAllocatorError) -> PhysicalFrame {
    guard statistics.freeFrames > 0 else { throw .outOfMemory(requested: 1) }
    var word = searchHint
    while word < free.wordCount {
      let bits = free.words[word]
      if bits != 0 {
        let bit = bits.trailingZeroBitCount
        free.words[word] = bits & ~(1 << UInt64(bit))
        searchHint = word
        statistics.freeFrames -= 1
        return frame(at: word * Bitmap.bitsPerWord + bit)
      }
      word += 1
    }
    // Only reached if the counts and the bitmap disagree.
    throw .outOfMemory(requested: 1)
  }

  /// The first of `count` physically contiguous free frames, the first at an address that
  /// is a multiple of `alignment` bytes: the lowest such run. Free them with
  /// `freeContiguous`, or one at a time with `free`.
  ///
  /// Throws `invalidRequest` if `count` is below 1 or `alignment` is not a power of two of
  /// at least `frameSize`, and `outOfMemory(requested: count)` if there is no such run,
  /// even when enough frames are free but not next to each other.
  public mutating func allocateContiguous(
    count: Int, alignment: UInt64 = frameSize
  ) throws(FrameAllocatorError) -> PhysicalFrame {
    guard count >= 1, alignment >= Self.frameSize, alignment & (alignment - 1) == 0 else {
      throw .invalidRequest(count: count, alignment: alignment)
    }
    guard count <= statistics.freeFrames, let grid = alignedFrames(alignment) else {
      throw .outOfMemory(requested: count)
    }
    // Every candidate run starts at `grid.first + k * grid.stride`. Skip to the first free
    // frame, round up to the grid, and check the run; if a frame in it is in use, the
    // next candidate lies beyond that frame.
    var from = max(searchHint * Bitmap.bitsPerWord, grid.first)
    while from < frameCount, let firstFree = free.firstSet(in: from..<frameCount) {
      let remainder = (firstFree - grid.first) % grid.stride
      let start = remainder == 0 ? firstFree : firstFree + (grid.stride - remainder)
      // `count <= freeFrames <= frameCount`, so the subtraction cannot go below 0.
      guard start <= frameCount - count else { break }
      let run = start..<(start + count)
      if let used = free.firstClear(in: run) {
        from = used + 1
        continue
      }
      free.set(run, to: false)
      statistics.freeFrames -= count
      return frame(at: start)
    }
    throw .outOfMemory(requested: count)
  }

  /// Gives `frame` back.
  ///
  /// Throws, changing nothing, `misaligned` if `frame` is not frame-aligned, `notManaged`
  /// if it is not a frame this allocator hands out, and `alreadyFree` if it is free.
  public mutating func free(_ frame: PhysicalFrame) throws(FrameAllocatorError) {
    try freeContiguous(frame, count: 1)
  }

  /// Gives back the `count` frames from `first` on, as `allocateContiguous` handed them
  /// out (or as single frames that happen to be next to each other).
  ///
  /// Throws, changing nothing: `invalidRequest` if `count` is below 1, `misaligned` if
  /// `first` is not frame-aligned, `notManaged` with the address of the first frame of the
  /// run this allocator does not hand out, and `alreadyFree` with the address of the first
  /// frame of the run that is free.
  public mutating func freeContiguous(
    _ first: PhysicalFrame, count: Int
  ) throws(FrameAllocatorError) {
    guard count >= 1 else { throw .invalidRequest(count: count, alignment: Self.frameSize) }
    let start = try index(of: first)
    guard count <= frameCount - start else {
      throw .notManaged(address: frameAddress(at: frameCount))
    }
    let run = start..<(start + count)
    if let outside = managed.firstClear(in: run) {
      throw .notManaged(address: frameAddress(at: outside))
    }
    if let alreadyFree = free.firstSet(in: run) {
      throw .alreadyFree(address: frameAddress(at: alreadyFree))
    }
    free.set(run, to: true)
    statistics.freeFrames += count
    searchHint = min(searchHint, start / Bitmap.bitsPerWord)
  }

  /// Takes every frame that `range` touches out of the allocator's hands for good: it is
  /// never handed out, and freeing it throws `notManaged`. For memory in a free range that
  /// is in use all the same, such as the bitmap itself.
  ///
  /// Frames outside the free ranges, or reserved already, are left as they are. Reserved
  /// frames stay in `totalFrames` and count as used. A frame reserved while allocated can
  /// no longer be freed.
  public mutating func reserve(_ range: Range<UInt64>) {
    guard !range.isEmpty, range.upperBound > base else { return }
    // Outward to whole frames: a frame partly reserved is reserved.
    let startIndex = (max(range.lowerBound, base) - base) / Self.frameSize
    let endOffset = range.upperBound - base
    let endIndex = endOffset / Self.frameSize + (endOffset % Self.frameSize == 0 ? 0 : 1)
    guard startIndex < UInt64(frameCount) else { return }
    let frames = Int(startIndex)..<Int(min(endIndex, UInt64(frameCount)))
    statistics.reservedFrames += managed.countSet(in: frames)
    statistics.freeFrames -= free.countSet(in: frames)
    managed.set(frames, to: false)
    free.set(frames, to: false)
  }

  /// Whether `frame` is one this allocator manages and is free now. False for addresses
  /// outside the free ranges, reserved or misaligned.
  public func isFree(_ frame: PhysicalFrame) -> Bool {
    guard let index = try? index(of: frame) else { return false }
    return free[index]
  }

  /// Whether `frame` is one this allocator hands out, free or not: inside a free range,
  /// frame-aligned, and not reserved.
  public func isManaged(_ frame: PhysicalFrame) -> Bool {
    (try? index(of: frame)) != nil
  }

  /// The index of `frame` in the bitmaps, if it is managed.
  private func index(of frame: PhysicalFrame) throws(FrameAllocatorError) -> Int {
    let address = frame.address
    guard address % Self.frameSize == 0 else { throw .misaligned(address: address) }
    guard address >= base, (address - base) / Self.frameSize < UInt64(frameCount) else {
      throw .notManaged(address: address)
    }
    let index = Int((address - base) / Self.frameSize)
    guard managed[index] else { throw .notManaged(address: address) }
    return index
  }

  /// The frame at `index` in the bitmaps. The highest address of the ranges is at most
  /// `UInt64.max - frameSize + 1`, so no index up to `frameCount` overflows.
  private func frameAddress(at index: Int) -> UInt64 {
    base + UInt64(index) * Self.frameSize
  }

  private func frame(at index: Int) -> PhysicalFrame {
    PhysicalFrame(address: frameAddress(at: index))
  }

  /// The indices of the frames wholly inside `range`, or nil if there are none.
  private func frameIndices(inside range: Range<UInt64>) -> Range<Int>? {
    guard let frames = Self.wholeFrames(in: range) else { return nil }
    let start = Int((frames.lowerBound - base) / Self.frameSize)
    return start..<(start + Int((frames.upperBound - frames.lowerBound) / Self.frameSize))
  }

  /// The frames whose address is a multiple of `alignment`, as the index of the first and
  /// the distance between them, or nil if no such frame is in the bitmaps.
  private func alignedFrames(_ alignment: UInt64) -> (first: Int, stride: Int)? {
    let (raised, overflow) = base.addingReportingOverflow(alignment - 1)
    guard !overflow else { return nil }
    let firstAddress = raised & ~(alignment - 1)
    let first = (firstAddress - base) / Self.frameSize
    guard first < UInt64(frameCount) else { return nil }
    return (Int(first), Int(alignment / Self.frameSize))
  }

  /// `range` trimmed inwards to whole frames, or nil if it holds none.
  private static func wholeFrames(in range: Range<UInt64>) -> Range<UInt64>? {
    let (raised, overflow) = range.lowerBound.addingReportingOverflow(frameSize - 1)
    let start = raised & ~(frameSize - 1)
    let end = range.upperBound & ~(frameSize - 1)
    guard !overflow, start < end else { return nil }
    return start..<end
  }

  /// The lowest address in `ranges` and the frames from it to the highest, or nil if
  /// `ranges` holds no whole frame. At most 2^52 frames, so the count fits in an Int.
  private static func frameSpan(of ranges: [Range<UInt64>]) -> (base: UInt64, frameCount: Int)? {
    var lowest = UInt64.max
    var highest: UInt64 = 0
    for range in ranges {
      guard let frames = wholeFrames(in: range) else { continue }
      lowest = min(lowest, frames.lowerBound)
      highest = max(highest, frames.upperBound)
    }
    guard lowest < highest else { return nil }
    return (lowest, Int((highest - lowest) / frameSize))
  }
}

/// One 4 KiB frame of physical memory, named by the address of its first byte.
///
/// The frames an allocator hands out are frame-aligned; one made from any other address
/// is refused with `misaligned` when given back.
public struct PhysicalFrame: Equatable, Comparable, Hashable {
  /// The physical address of the frame's first byte.
  public let address: UInt64

  /// The frame starting at `address`.
  public init(address: UInt64) {
    self.address = address
  }

  /// Orders frames by address.
  public static func < (lhs: PhysicalFrame, rhs: PhysicalFrame) -> Bool {
    lhs.address < rhs.address
  }
}

/// How many frames a `FrameAllocator` manages and how many of them are free.
public struct FrameStatistics: Equatable {
  /// Frames in the free ranges the allocator was built from, counted once even where
  /// ranges overlap. Fixed for the allocator's life.
  public var totalFrames: Int
  /// Frames that `allocate` can hand out now.
  public var freeFrames: Int
  /// Frames taken out of use by `reserve`; they count as used.
  public var reservedFrames: Int

  /// Frames allocated or reserved.
  public var usedFrames: Int { totalFrames - freeFrames }

  /// Counts with the given values; all 0 by default, as for an allocator with no memory.
  public init(totalFrames: Int = 0, freeFrames: Int = 0, reservedFrames: Int = 0) {
    self.totalFrames = totalFrames
    self.freeFrames = freeFrames
    self.reservedFrames = reservedFrames
  }
}
