/// The kernel's general heap: small objects from slabs of one size class, the rest from a
/// `FreeListHeap`.
///
/// A request whose size and alignment both fit in 2048 bytes gets an object of the
/// smallest size class that holds it (see `SizeClass`), from a slab: a 4 KiB page from the
/// `PageSource`, all of whose objects have that size. Each class keeps its slabs on two
/// lists, those with free objects and those without, and allocation takes the lowest free
/// object of the first slab with one. A slab that empties goes back to the page source,
/// except that each class keeps one to save a round trip when its use hovers around a
/// slab's worth. Bigger requests go to the free-list heap, over the regions given to
/// `addLargeRegion`.
///
/// `free` finds everything from the pointer alone: the page it falls in is a slab unless it
/// overlaps a large region (slab pages never do), and then the slab header at the start of
/// the page names the class and has a bit for every object. So a free takes constant time,
/// and freeing an object twice, or a pointer into the middle of one, is caught.
///
/// Like `FreeListHeap`, this heap never allocates, and it is noncopyable so that no copy
/// can hand out the same memory twice.
public struct SizeClassHeap<Source: PageSource & ~Copyable>: ~Copyable {
  /// The size of the smallest objects served from slabs; smaller requests get one of these.
  public static var smallestClass: Int { SizeClass.smallest }
  /// The size of the largest objects served from slabs; a request with a bigger size or
  /// alignment goes to the large heap.
  public static var largestClass: Int { SizeClass.largest }
  /// Bytes in a slab, which is one page from the page source.
  public static var slabSize: Int { Slab.size }

  private var source: Source
  /// Where requests too big for a slab go.
  private(set) var large = FreeListHeap()
  /// Each class's slabs.
  private(set) var slabs = SizeClass.Table(repeating: SlabLists())
  /// Pages taken from the source and not given back, cached slabs included.
  private(set) var slabCount = 0
  /// Bytes in objects in use, counted whole.
  private(set) var smallBytesInUse = 0
  private(set) var smallLiveAllocations = 0
  private(set) var smallTotalAllocations = 0
  private(set) var smallFailedAllocations = 0
  /// The highest the combined `bytesInUse` has been; neither part alone can say.
  private(set) var peakBytesInUse = 0

  /// A heap that takes its slabs from `pageSource`, with no large regions yet.
  public init(pageSource: consuming Source) {
    source = pageSource
  }

  /// Counters for both parts together. `capacity` counts the slabs held and the large
  /// regions; `bytesInUse` counts small objects at their class's size, and large ones as
  /// `FreeListHeap` does, headers included.
  public var statistics: HeapStatistics {
    let large = self.large.statistics
    return HeapStatistics(
      capacity: slabCount * Slab.size + large.capacity,
      bytesInUse: smallBytesInUse + large.bytesInUse,
      peakBytesInUse: peakBytesInUse,
      liveAllocations: smallLiveAllocations + large.liveAllocations,
      totalAllocations: smallTotalAllocations + large.totalAllocations,
      failedAllocations: smallFailedAllocations + large.failedAllocations)
  }

  /// Gives the large heap `[base, base + size)`, as `FreeListHeap.addRegion` does.
  ///
  /// Returns false, and adds nothing, if that memory overlaps a slab the heap holds, or if
  /// `FreeListHeap.addRegion` refuses it.
  public mutating func addLargeRegion(base: UnsafeMutableRawPointer, size: Int) -> Bool {
    let start = UInt(bitPattern: base)
    if size > 0 {
      let (end, overflow) = start.addingReportingOverflow(UInt(size))
      if !overflow && holdsSlab(overlapping: HeapRegion(start: start, end: end)) { return false }
    }
    return large.addRegion(base: base, size: size)
  }

  /// Memory for at least `size` bytes, its address a multiple of `alignment`, or nil if
  /// there is none or the request makes no sense (`alignment` not a power of two, `size`
  /// negative or near `Int.max`). Each call, even for 0 bytes, returns memory no other live
  /// allocation uses, at least 16-byte aligned.
  ///
  /// A small request fails when its class has no free object and the page source has no
  /// page; it does not fall back on the large heap.
  public mutating func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
    guard let sizeClass = SizeClass(fitting: size, alignment: alignment) else {
      // Bad requests too: the large heap refuses and counts them.
      let pointer = large.allocate(size: size, alignment: alignment)
      if pointer != nil { notePeak() }
      return pointer
    }
    guard let slab = slabWithFreeObject(of: sizeClass),
      let index = slab.firstFree(below: sizeClass.objectsPerSlab)
    else {
      smallFailedAllocations += 1
      return nil
    }
    slab.setInUse(index, true)
    slab.inUse += 1
    if slab.inUse == sizeClass.objectsPerSlab {
      slab.remove(from: &slabs[sizeClass.index].partial)
      slab.push(onto: &slabs[sizeClass.index].full)
    }
    smallBytesInUse += sizeClass.objectSize
    smallLiveAllocations += 1
    smallTotalAllocations += 1
    notePeak()
    return slab.object(index, of: sizeClass)
  }

  /// Returns memory that `allocate` handed out.
  ///
  /// Throws, and changes nothing, if `pointer` is not the start of memory `allocate`
  /// returned (`notAllocated`) or if that memory has been freed already (`doubleFree`). A
  /// second free of an object whose slab has since gone back to the page source is
  /// reported as `notAllocated`. Reads the first word of the page `pointer` falls in, so
  /// that page must be mapped.
  public mutating func free(_ pointer: UnsafeMutableRawPointer) throws(HeapFreeError) {
    let address = UInt(bitPattern: pointer)
    let slab = Slab(containing: address)
    if largeRegionsOverlap(slab) {
      try large.free(pointer)
      return
    }
    guard slab.address != 0, slab.isTagged, let sizeClass = slab.sizeClass,
      let index = slab.objectIndex(at: address, of: sizeClass)
    else { throw .notAllocated(address: address) }
    guard slab.isInUse(index) else { throw .doubleFree(address: address) }
    let wasFull = slab.inUse == sizeClass.objectsPerSlab
    // A count that disagrees with the bitmap is a header overwritten from the page below.
    guard slab.inUse > 0, slab.inUse <= sizeClass.objectsPerSlab else {
      throw .notAllocated(address: address)
    }

    slab.setInUse(index, false)
    slab.inUse -= 1
    smallBytesInUse -= sizeClass.objectSize
    smallLiveAllocations -= 1
    if slab.inUse == 0 {
      if wasFull {
        slab.remove(from: &slabs[sizeClass.index].full)
      } else {
        slab.remove(from: &slabs[sizeClass.index].partial)
      }
      release(slab, of: sizeClass)
    } else if wasFull {
      slab.remove(from: &slabs[sizeClass.index].full)
      slab.push(onto: &slabs[sizeClass.index].partial)
    }
  }

  /// The first slab of `sizeClass` with a free object: one already in use, else the
  /// cached empty one, else a new one. Nil if the page source has no page to give.
  private mutating func slabWithFreeObject(of sizeClass: SizeClass) -> Slab? {
    if let slab = slabs[sizeClass.index].partial { return slab }
    let slab: Slab
    if let cached = slabs[sizeClass.index].cached {
      slabs[sizeClass.index].cached = nil
      slab = cached
    } else {
      guard let page = newPage() else { return nil }
      slab = Slab(address: page)
      slab.format(as: sizeClass)
      slabCount += 1
    }
    slab.push(onto: &slabs[sizeClass.index].partial)
    return slab
  }

  /// A page from the source, or nil if it has none. A page the heap cannot use, not
  /// aligned to a page or overlapping a large region, goes straight back.
  private mutating func newPage() -> UInt? {
    guard let page = source.allocatePage() else { return nil }
    let address = UInt(bitPattern: page)
    guard address % UInt(Slab.size) == 0, !largeRegionsOverlap(Slab(address: address)) else {
      source.freePage(page)
      return nil
    }
    return address
  }

  /// Keeps `slab`, now empty and on no list, as its class's cached slab, or gives it back
  /// to the page source if the class has one already.
  private mutating func release(_ slab: Slab, of sizeClass: SizeClass) {
    if slabs[sizeClass.index].cached == nil {
      slabs[sizeClass.index].cached = slab
      return
    }
    slab.erase()
    slabCount -= 1
    source.freePage(slab.page)
  }

  private mutating func notePeak() {
    peakBytesInUse = max(peakBytesInUse, smallBytesInUse + large.statistics.bytesInUse)
  }

  /// Whether the page of `slab` overlaps one of the large heap's regions.
  ///
  /// Mutating only so that it reads the region table in place; see
  /// `FreeListHeap.region(containing:)`. This runs on every free.
  private mutating func largeRegionsOverlap(_ slab: Slab) -> Bool {
    for index in 0..<large.regionCount where slab.overlaps(large.regions[index]) {
      return true
    }
    return false
  }

  /// Whether any slab the heap holds overlaps `region`.
  private mutating func holdsSlab(overlapping region: HeapRegion) -> Bool {
    for index in 0..<SizeClass.count {
      let lists = slabs[index]
      if let cached = lists.cached, cached.overlaps(region) { return true }
      if Self.list(lists.partial, overlaps: region) || Self.list(lists.full, overlaps: region) {
        return true
      }
    }
    return false
  }

  private static func list(_ head: Slab?, overlaps region: HeapRegion) -> Bool {
    var slab = head
    while let current = slab {
      if current.overlaps(region) { return true }
      slab = current.next
    }
    return false
  }
}

/// One size class's slabs.
struct SlabLists {
  /// Slabs with objects in use and objects free; allocation takes from the first.
  var partial: Slab?
  /// Slabs with every object in use.
  var full: Slab?
  /// An empty slab kept back from the page source, on neither list.
  var cached: Slab?
}
