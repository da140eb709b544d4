/// The kernel's early heap: first fit over a free list kept in address order.
///
/// Memory comes in regions given to `addRegion`. Every block, in use or free, starts with
/// a 16-byte header (see `HeapBlock`), and the free blocks are linked in address order,
/// so `free` meets a block's neighbours while looking for its place in the list and
/// merges it with those that touch it. `allocate` takes the first free block with room
/// for the request at the alignment asked for; the gap left in front becomes a free block
/// of its own, and so does the tail when it is big enough to be one.
///
/// The heap never allocates: in the kernel it is what Swift's runtime allocates from. It
/// keeps its regions inline and everything else in the block headers, and it is
/// noncopyable so that no copy can hand out the same memory twice. Both `allocate` and
/// `free` walk the free list; that is fine for an early heap, and size classes come later.
public struct FreeListHeap: ~Copyable {
  /// How many regions `addRegion` accepts.
  public static let maximumRegions = RegionTable.count

  /// Bytes in front of every payload. A region of `n` bytes (aligned to 16) can satisfy one
  /// allocation of `n - headerSize` bytes.
  public static let headerSize = Int(HeapBlock.headerSize)

  /// What has been handed out and how often; `bytesInUse` counts whole blocks.
  public private(set) var statistics = HeapStatistics()

  /// Inline, so that adding a region does not allocate.
  typealias RegionTable = InlineArray<16, HeapRegion>

  /// The regions added, in address order; the first `regionCount` are in use.
  private(set) var regions = RegionTable(repeating: HeapRegion(start: 0, end: 0))
  private(set) var regionCount = 0
  /// The free block with the lowest address.
  private(set) var firstFree: HeapBlock?

  /// An empty heap: every allocation fails until a region is added.
  public init() {}

  /// Adds the memory `[base, base + size)` to the heap, trimmed to 16-byte boundaries.
  ///
  /// Returns false, and adds nothing, if the trimmed region cannot hold one block, if the
  /// memory overlaps a region already added (touching one is fine), or if the heap already
  /// has `maximumRegions`.
  public mutating func addRegion(base: UnsafeMutableRawPointer, size: Int) -> Bool {
    let address = UInt(bitPattern: base)
    guard size >= 0, regionCount < Self.maximumRegions,
      let start = address.roundedUp(toMultipleOf: HeapBlock.alignment)
    else { return false }
    let (unalignedEnd, overflow) = address.addingReportingOverflow(UInt(size))
    let end = unalignedEnd.roundedDown(toMultipleOf: HeapBlock.alignment)
    guard !overflow, end > start, end - start >= HeapBlock.minimumSize else { return false }
    // Overlap is checked on the memory as given, so a mistake the trimming hides still counts.
    let given = HeapRegion(start: address, end: unalignedEnd)
    for index in 0..<regionCount where regions[index].overlaps(given) {
      return false
    }
    let region = HeapRegion(start: start, end: end)

    var index = regionCount
    while index > 0 && regions[index - 1].start > start {
      regions[index] = regions[index - 1]
      index -= 1
    }
    regions[index] = region
    regionCount += 1
    statistics.capacity += Int(region.size)

    let block = HeapBlock(address: start)
    block.size = region.size
    block.markFree()
    let (below, above) = freeNeighbours(of: block.address)
    block.nextFree = above
    link(block, after: below)
    return true
  }

  /// Memory for at least `size` bytes, its address a multiple of `alignment`, or nil if
  /// no free block has room or the request makes no sense (`alignment` not a power of
  /// two, `size` negative or near `Int.max`). Every pointer is at least 16-byte aligned,
  /// and each call, even for 0 bytes, returns memory no other live allocation uses.
  public mutating func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
    guard alignment > 0, alignment & (alignment - 1) == 0,
      let blockSize = HeapBlock.size(holding: size)
    else { return recordFailure() }
    let payloadAlignment = max(UInt(alignment), HeapBlock.alignment)

    var previous: HeapBlock? = nil
    var candidate = firstFree
    while let free = candidate {
      if let place = self.place(blockSize, alignedTo: payloadAlignment, in: free) {
        let block = take(place, from: free, after: previous)
        statistics.bytesInUse += Int(block.size)
        statistics.peakBytesInUse = max(statistics.peakBytesInUse, statistics.bytesInUse)
        statistics.liveAllocations += 1
        statistics.totalAllocations += 1
        return block.payload
      }
      previous = free
      candidate = free.nextFree
    }
    return recordFailure()
  }

  /// Returns memory that `allocate` handed out, merging it with the free blocks next to it.
  ///
  /// Throws, and changes nothing, if `pointer` is not the start of memory `allocate`
  /// returned (`notAllocated`) or if that memory has been freed already (`doubleFree`).
  public mutating func free(_ pointer: UnsafeMutableRawPointer) throws(HeapFreeError) {
    let address = UInt(bitPattern: pointer)
    guard address % HeapBlock.alignment == 0, let region = region(containing: address),
      address - region.start >= HeapBlock.headerSize
    else { throw .notAllocated(address: address) }
    let block = HeapBlock(payload: address)
    if block.isFree { throw .doubleFree(address: address) }
    guard block.isInUse, block.hasPlausibleSize(in: region) else {
      throw .notAllocated(address: address)
    }
    let (below, above) = freeNeighbours(of: block.address)
    // A block in use never overlaps a free one: a header that says otherwise is stale,
    // written back through a dangling pointer, or never was a header.
    if let below, below.end > block.address { throw .notAllocated(address: address) }
    if let above, block.end > above.address { throw .notAllocated(address: address) }

    statistics.bytesInUse -= Int(block.size)
    statistics.liveAllocations -= 1
    // Marked free before any merge: if the header ends up inside a bigger free block, a
    // second free of the same pointer still finds it and is reported as a double free.
    block.markFree()
    block.nextFree = above
    link(block, after: below)
    if let above, block.end == above.address, region.contains(above.address) {
      block.size += above.size
      block.nextFree = above.nextFree
    }
    if let below, below.end == block.address, region.contains(below.address) {
      below.size += block.size
      below.nextFree = block.nextFree
    }
  }

  /// The region holding `address`, if any.
  ///
  /// Mutating only so that it reads the table in place: on a borrowed heap, Swift 6.3
  /// copies the whole inline table for every subscript, and this runs on every free.
  private mutating func region(containing address: UInt) -> HeapRegion? {
    for index in 0..<regionCount where regions[index].contains(address) {
      return regions[index]
    }
    return nil
  }

  private mutating func recordFailure() -> UnsafeMutableRawPointer? {
    statistics.failedAllocations += 1
    return nil
  }

  /// Where a block of `size` bytes, its payload aligned to `alignment`, fits in the free
  /// block `free`: its start, and its size grown to the end of `free` when the tail would
  /// be too small to be a block. Nil if it does not fit.
  private func place(_ size: UInt, alignedTo alignment: UInt, in free: HeapBlock)
    -> (start: UInt, size: UInt)?
  {
    let header = HeapBlock.headerSize
    guard var payload = (free.address + header).roundedUp(toMultipleOf: alignment) else {
      return nil
    }
    // The gap in front stays free, so it must be big enough to be a block.
    let gap = payload - header - free.address
    if gap > 0 && gap < HeapBlock.minimumSize {
      let later = free.address + header + HeapBlock.minimumSize
      guard let laterPayload = later.roundedUp(toMultipleOf: alignment) else { return nil }
      payload = laterPayload
    }
    let start = payload - header
    let (end, overflow) = start.addingReportingOverflow(size)
    guard !overflow, end <= free.end else { return nil }
    return free.end - end < HeapBlock.minimumSize ? (start, free.end - start) : (start, size)
  }

  /// Marks `place` in use and leaves the rest of `free`, which follows `previous` in the
  /// free list, free: the gap in front keeps the old header, the tail gets a new one.
  private mutating func take(
    _ place: (start: UInt, size: UInt), from free: HeapBlock, after previous: HeapBlock?
  ) -> HeapBlock {
    let freeEnd = free.end
    let placeEnd = place.start + place.size
    var following = free.nextFree
    if placeEnd < freeEnd {
      let tail = HeapBlock(address: placeEnd)
      tail.size = freeEnd - placeEnd
      tail.markFree()
      tail.nextFree = following
      following = tail
    }
    if place.start > free.address {
      free.size = place.start - free.address
      free.nextFree = following
      following = free
    }
    link(following, after: previous)

    let block = HeapBlock(address: place.start)
    block.size = place.size
    block.markInUse()
    return block
  }

  /// The free blocks nearest below and above `address`.
  private func freeNeighbours(of address: UInt) -> (below: HeapBlock?, above: HeapBlock?) {
    var below: HeapBlock? = nil
    var above = firstFree
    while let block = above, block.address < address {
      below = block
      above = block.nextFree
    }
    return (below, above)
  }

  /// Makes `block` follow `previous` in the free list, or head it if `previous` is nil.
  private mutating func link(_ block: HeapBlock?, after previous: HeapBlock?) {
    if let previous {
      previous.nextFree = block
    } else {
      firstFree = block
    }
  }
}
