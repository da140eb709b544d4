/// Tests of `SizeClassHeap`: which part serves what, slabs coming and going, the errors
/// `free` reports, the counters, and a long random run.
import Memory
import Testing

struct SizeClassHeapTests {
  static let powersOfTwo = (0...12).map { 1 << $0 }
  static let largeBytes = 1 << 20

  @Test(arguments: powersOfTwo)
  func everySizeAtEveryAlignmentGetsSeparateMemoryFromTheRightPart(alignment: Int) {
    // Size 0 to 2048 at alignment 2048 takes 2049 slabs; at 4096 everything is large.
    let pages = HostPages(count: 2100)
    let largeBytes = 24 << 20
    withHostMemory(bytes: largeBytes) { large in
      var heap = makeHeap(pages, large: large, bytes: largeBytes)
      let largeRange = addresses(large, bytes: largeBytes)
      var blocks: [FilledBlock] = []
      for size in 0...4097 {
        guard let pointer = heap.allocate(size: size, alignment: alignment) else {
          Issue.record("no memory for \(size) bytes at alignment \(alignment)")
          return
        }
        let objectSize = classSize(size: size, alignment: alignment)
        let rightPart =
          if let objectSize {
            pages.holds(pointer) && isAligned(pointer, to: objectSize)
          } else {
            largeRange.contains(UInt(bitPattern: pointer))
          }
        guard rightPart, isAligned(pointer, to: alignment), isAligned(pointer, to: 16) else {
          Issue.record("\(size) bytes at alignment \(alignment): bad pointer \(pointer)")
          return
        }
        let block = FilledBlock(pointer: pointer, size: size, seed: UInt64(size))
        block.fill()
        blocks.append(block)
      }
      let sorted = blocks.sorted { $0.addresses.lowerBound < $1.addresses.lowerBound }
      for (below, above) in zip(sorted, sorted.dropFirst())
      where below.addresses.overlaps(above.addresses) {
        Issue.record("blocks at \(below.pointer) and \(above.pointer) overlap")
      }
      #expect(blocks.allIntact)
      expectConsistent(heap)

      for block in blocks { mustFree(&heap, block.pointer) }
      #expect(heap.statistics.bytesInUse == 0)
      #expect(heap.statistics.liveAllocations == 0)
      #expect(heap.statistics.totalAllocations == 4098)
      #expect(pages.pagesOut <= 8)
      #expect(heap.statistics.capacity == pages.pagesOut * 4096 + largeBytes)
      expectConsistent(heap)
    }
  }

  /// The layout: objects start at the first multiple of their size past the 64-byte
  /// header, and run to the end of the page.
  @Test(arguments: [
    (16, 252), (32, 126), (64, 63), (128, 31), (256, 15), (512, 7), (1024, 3), (2048, 1),
  ])
  func eachClassFillsItsSlabBeforeTakingAnother(objectSize: Int, perSlab: Int) {
    let pages = HostPages(count: 4)
    var heap = SizeClassHeap(pageSource: HostPageSource(pages: pages))
    let first = (0..<perSlab).compactMap { _ in heap.allocate(size: objectSize, alignment: 1) }
    #expect(first.count == perSlab)
    #expect(Set(first.map { UInt(bitPattern: $0) & ~4095 }).count == 1)
    #expect(first.allSatisfy { isAligned($0, to: objectSize) })
    #expect(pages.pagesOut == 1)

    let next = heap.allocate(size: objectSize, alignment: 1)
    #expect(pages.pagesOut == 2)
    #expect(next.map { UInt(bitPattern: $0) & ~4095 } != UInt(bitPattern: first[0]) & ~4095)
    #expect(heap.statistics.bytesInUse == (perSlab + 1) * objectSize)
    #expect(heap.statistics.capacity == 2 * 4096)
    expectConsistent(heap)
  }

  @Test(arguments: [
    (0, 1, 16), (1, 1, 16), (16, 16, 16), (17, 1, 32), (1, 32, 32), (33, 8, 64), (1, 64, 64),
    (100, 8, 128), (129, 1, 256), (300, 512, 512), (1000, 16, 1024), (8, 1024, 1024),
    (1025, 1, 2048), (2048, 2048, 2048),
  ])
  func smallRequestsTakeTheSmallestClassThatFits(size: Int, alignment: Int, objectSize: Int) {
    let pages = HostPages(count: 1)
    var heap = SizeClassHeap(pageSource: HostPageSource(pages: pages))
    let pointer = heap.allocate(size: size, alignment: alignment)
    #expect(pointer.map { pages.holds($0) && isAligned($0, to: objectSize) } == true)
    #expect(heap.statistics.bytesInUse == objectSize)
    expectConsistent(heap)
  }

  @Test(arguments: [(2049, 1), (4096, 16), (8192, 64), (0, 4096), (16, 8192), (3000, 4096)])
  func requestsBeyondTheLargestClassGoToTheLargeHeap(size: Int, alignment: Int) {
    let pages = HostPages(count: 1)
    withHostMemory(bytes: Self.largeBytes) { large in
      var heap = makeHeap(pages, large: large, bytes: Self.largeBytes)
      let pointer = heap.allocate(size: size, alignment: alignment)
      let inLarge = pointer.map {
        addresses(large, bytes: Self.largeBytes).contains(UInt(bitPattern: $0))
          && isAligned($0, to: alignment)
      }
      #expect(inLarge == true)
      #expect(pages.pagesOut == 0)
      #expect(heap.statistics.bytesInUse == blockSize(size))
      if let pointer { mustFree(&heap, pointer) }
      #expect(heap.statistics.bytesInUse == 0)
      expectConsistent(heap)
    }
  }

  @Test(arguments: [
    (16, 0), (16, -1), (16, 3), (16, 24), (-1, 16), (Int.min, 1), (Int.max, 16), (Int.max, 4096),
  ])
  func impossibleRequestsFailWithoutTakingPages(size: Int, alignment: Int) {
    let pages = HostPages(count: 4)
    withHostMemory(bytes: Self.largeBytes) { large in
      var heap = makeHeap(pages, large: large, bytes: Self.largeBytes)
      #expect(heap.allocate(size: size, alignment: alignment) == nil)
      #expect(heap.statistics.failedAllocations == 1)
      #expect(heap.statistics.totalAllocations == 0)
      #expect(pages.pagesOut == 0)
      expectConsistent(heap)
    }
  }

  @Test func freedObjectsAreHandedOutAgain() {
    let pages = HostPages(count: 4)
    var heap = SizeClassHeap(pageSource: HostPageSource(pages: pages))
    let pointers = (0..<10).compactMap { _ in heap.allocate(size: 100, alignment: 16) }
    #expect(pointers.count == 10)
    mustFree(&heap, pointers[3])
    // 120 bytes is the same class as 100.
    #expect(heap.allocate(size: 120, alignment: 8) == pointers[3])

    // A slab that was full comes first once it has room again.
    let big = (0..<7).compactMap { _ in heap.allocate(size: 1000, alignment: 16) }
    #expect(big.count == 7)
    mustFree(&heap, big[1])
    #expect(heap.allocate(size: 1000, alignment: 16) == big[1])
    #expect(pages.pagesOut == 4)
    expectConsistent(heap)
  }

  @Test func emptySlabsGoBackToThePageSourceButOneIsCached() {
    let pages = HostPages(count: 8)
    var heap = SizeClassHeap(pageSource: HostPageSource(pages: pages))
    var pointers = (0..<63 * 3).compactMap { _ in heap.allocate(size: 64, alignment: 64) }
    #expect(pointers.count == 63 * 3)
    #expect(pages.pagesOut == 3)
    // Middle slab first, then the others, in both directions. The first slab to empty is
    // kept; the others go back.
    for pointer in pointers[63..<126] { mustFree(&heap, pointer) }
    #expect(pages.pagesOut == 3)
    #expect(heap.statistics.capacity == 3 * 4096)
    for pointer in pointers[126...].reversed() { mustFree(&heap, pointer) }
    #expect(pages.pagesOut == 2)
    for pointer in pointers[..<63] { mustFree(&heap, pointer) }
    #expect(pages.pagesOut == 1)
    #expect(pages.pagesGiven == 3)
    #expect(heap.statistics.capacity == 4096)
    expectConsistent(heap)

    // The cached slab serves the class again without asking the source.
    pointers = (0..<63).compactMap { _ in heap.allocate(size: 64, alignment: 64) }
    #expect(pointers.count == 63)
    #expect(pages.pagesGiven == 3)
    for pointer in pointers { mustFree(&heap, pointer) }

    // Each class keeps its own.
    let small = heap.allocate(size: 16, alignment: 16)
    let medium = heap.allocate(size: 512, alignment: 16)
    for pointer in [small, medium].compactMap(\.self) { mustFree(&heap, pointer) }
    #expect(pages.pagesOut == 3)
    #expect(heap.statistics.capacity == 3 * 4096)
    #expect(heap.statistics.bytesInUse == 0)
    expectConsistent(heap)
  }

  @Test func anExhaustedPageSourceFailsSmallRequestsUntilPagesComeBack() {
    let pages = HostPages(count: 2)
    withHostMemory(bytes: Self.largeBytes) { large in
      var heap = makeHeap(pages, large: large, bytes: Self.largeBytes)
      let first = heap.allocate(size: 2048, alignment: 16)
      let second = heap.allocate(size: 2000, alignment: 16)
      #expect(first != nil && second != nil)
      #expect(heap.allocate(size: 1500, alignment: 16) == nil)
      #expect(heap.allocate(size: 16, alignment: 16) == nil)
      #expect(heap.statistics.failedAllocations == 2)
      // No fallback either way: large requests still work.
      let large = heap.allocate(size: 4000, alignment: 16)
      #expect(large != nil)
      expectConsistent(heap)

      // The emptied slab is cached for its class, so other classes still get nothing.
      if let first { mustFree(&heap, first) }
      #expect(pages.pagesOut == 2)
      #expect(heap.allocate(size: 16, alignment: 16) == nil)
      #expect(heap.statistics.failedAllocations == 3)
      let again = heap.allocate(size: 1200, alignment: 16)
      #expect(again == first)

      for pointer in [again, second, large].compactMap(\.self) { mustFree(&heap, pointer) }
      #expect(pages.pagesOut == 1)
      #expect(heap.allocate(size: 16, alignment: 16) != nil)
      #expect(pages.pagesOut == 2)
      #expect(heap.statistics.failedAllocations == 3)
      #expect(heap.statistics.liveAllocations == 1)
      expectConsistent(heap)
    }
  }

  @Test func pagesTheHeapCannotUseGoBackToTheSource() {
    let pages = HostPages(count: 2)
    withHostMemory(bytes: Self.largeBytes) { large in
      var heap = makeHeap(pages, large: large, bytes: Self.largeBytes)
      // Not page-aligned, then inside the large heap's region.
      pages.pending = [pages.base + 16, large + 8192]
      #expect(heap.allocate(size: 16, alignment: 16) == nil)
      #expect(heap.allocate(size: 16, alignment: 16) == nil)
      #expect(pages.pagesGiven == 2)
      #expect(pages.pagesOut == 0)
      #expect(heap.statistics.failedAllocations == 2)
      #expect(heap.statistics.capacity == Self.largeBytes)
      expectConsistent(heap)
      #expect(heap.allocate(size: 16, alignment: 16).map(pages.holds) == true)
      expectConsistent(heap)
    }
  }

  @Test func largeRegionsMayNotOverlapSlabs() {
    let pages = HostPages(count: 2)
    withHostMemory(bytes: Self.largeBytes) { large in
      var heap = SizeClassHeap(pageSource: HostPageSource(pages: pages))
      guard let object = heap.allocate(size: 32, alignment: 16) else {
        Issue.record("allocation failed")
        return
      }
      let slab = pages.base
      #expect(UInt(bitPattern: object) & ~4095 == UInt(bitPattern: slab))
      #expect(!addLargeRegion(&heap, slab, size: 4096))
      #expect(!addLargeRegion(&heap, slab + 4000, size: 4096))
      mustFree(&heap, object)
      // The slab is cached now, and still the heap's.
      #expect(!addLargeRegion(&heap, slab + 64, size: 64))
      // The page after it is the source's.
      #expect(addLargeRegion(&heap, slab + 4096, size: 4096))
      #expect(addLargeRegion(&heap, large, size: Self.largeBytes))
      #expect(!addLargeRegion(&heap, large + 4096, size: 4096))
      #expect(heap.statistics.capacity == 4096 + 4096 + Self.largeBytes)
      expectConsistent(heap)
    }
  }

  @Test func doubleFreeIsRefusedAndChangesNothing() {
    let pages = HostPages(count: 4)
    withHostMemory(bytes: Self.largeBytes) { large in
      var heap = makeHeap(pages, large: large, bytes: Self.largeBytes)
      let objects = (0..<3).compactMap { _ in heap.allocate(size: 32, alignment: 16) }
      let big = heap.allocate(size: 5000, alignment: 16)!
      #expect(objects.count == 3)
      mustFree(&heap, objects[1])
      mustFree(&heap, big)
      let before = heap.statistics
      for pointer in [objects[1], big] {
        #expect(freeError(&heap, pointer) == .doubleFree(address: UInt(bitPattern: pointer)))
      }
      #expect(heap.statistics == before)
      expectConsistent(heap)
      // Still free exactly once: handed out again, and only once.
      #expect(heap.allocate(size: 32, alignment: 16) == objects[1])
      #expect(heap.allocate(size: 32, alignment: 16) != objects[1])

      // A slab that emptied into the cache still knows its objects are free.
      let thirds = (0..<3).compactMap { _ in heap.allocate(size: 1024, alignment: 16) }
      for pointer in thirds { mustFree(&heap, pointer) }
      let cachedBefore = heap.statistics
      #expect(freeError(&heap, thirds[2]) == .doubleFree(address: UInt(bitPattern: thirds[2])))
      #expect(heap.statistics == cachedBefore)
      expectConsistent(heap)
    }
  }

  @Test func aFreeIntoASlabGivenBackIsRefused() {
    let pages = HostPages(count: 4)
    // The page still holds its header: the heap must have wiped it.
    pages.junksReturnedPages = false
    var heap = SizeClassHeap(pageSource: HostPageSource(pages: pages))
    let first = heap.allocate(size: 2048, alignment: 16)!
    let second = heap.allocate(size: 2048, alignment: 16)!
    mustFree(&heap, first)
    mustFree(&heap, second)
    #expect(pages.pagesOut == 1)
    let returned = pages.holdsOut(first) ? second : first
    let before = heap.statistics
    #expect(freeError(&heap, returned) == .notAllocated(address: UInt(bitPattern: returned)))
    #expect(heap.statistics == before)
    expectConsistent(heap)
  }

  @Test func foreignAndInteriorPointersAreRefused() {
    let pages = HostPages(count: 4)
    withHostMemory(bytes: Self.largeBytes) { large in
      var heap = makeHeap(pages, large: large, bytes: Self.largeBytes)
      let object = heap.allocate(size: 100, alignment: 16)!
      let big = heap.allocate(size: 3000, alignment: 16)!
      let slab = pages.base
      #expect(UInt(bitPattern: object) & ~4095 == UInt(bitPattern: slab))
      // The second page is one the source never handed out; the third, a copy of the slab.
      let copy = pages.base + 2 * 4096
      copy.copyMemory(from: slab, byteCount: 4096)
      let before = heap.statistics
      var refused = [object + 1, object + 16, object + 64, object + 127, big + 16, big + 1]
      refused += [slab, slab + 64, pages.base + 4096 + 128, copy + 128, copy + 256]
      withHostMemory(bytes: 4096) { foreign in
        // Fresh host memory may be a page an earlier test used as a slab, its header
        // still valid for this address; foreign memory here means memory with no header.
        foreign.initializeMemory(as: UInt8.self, repeating: 0xA5, count: 4096)
        for pointer in refused + [foreign, foreign + 256] {
          #expect(freeError(&heap, pointer) == .notAllocated(address: UInt(bitPattern: pointer)))
        }
      }
      #expect(heap.statistics == before)
      expectConsistent(heap)
      mustFree(&heap, object)
      mustFree(&heap, big)
      #expect(heap.statistics.liveAllocations == 0)
      expectConsistent(heap)
    }
  }

  @Test func anOverwrittenSlabHeaderIsNoticed() {
    let pages = HostPages(count: 2)
    var heap = SizeClassHeap(pageSource: HostPageSource(pages: pages))
    let first = heap.allocate(size: 64, alignment: 16)!
    let second = heap.allocate(size: 64, alignment: 16)!
    let slab = pages.base
    var saved = [UInt8](repeating: 0, count: 64)
    saved.withUnsafeMutableBytes { $0.copyMemory(from: .init(start: slab, count: 64)) }
    let before = heap.statistics

    // As if the page below had been written past its end.
    slab.initializeMemory(as: UInt8.self, repeating: 0x5A, count: 64)
    let junkPasses = heap.verify()
    #expect(!junkPasses)
    #expect(freeError(&heap, first) == .notAllocated(address: UInt(bitPattern: first)))
    // A header with its tag intact but a count that disagrees with the bitmap.
    saved.withUnsafeBytes { slab.copyMemory(from: $0.baseAddress!, byteCount: 64) }
    slab.storeBytes(of: 0xFF, toByteOffset: 32, as: UInt8.self)
    let miscountPasses = heap.verify()
    #expect(!miscountPasses)
    #expect(heap.statistics == before)

    saved.withUnsafeBytes { slab.copyMemory(from: $0.baseAddress!, byteCount: 64) }
    expectConsistent(heap)
    mustFree(&heap, first)
    mustFree(&heap, second)
    expectConsistent(heap)
  }

  @Test func countersCoverBothParts() {
    let pages = HostPages(count: 4)
    var empty = SizeClassHeap(pageSource: HostPageSource(pages: pages))
    #expect(empty.statistics == HeapStatistics())
    expectConsistent(empty)
    #expect(empty.allocate(size: 4096, alignment: 16) == nil)
    #expect(empty.statistics == HeapStatistics(failedAllocations: 1))

    withHostMemory(bytes: Self.largeBytes) { large in
      var heap = makeHeap(pages, large: large, bytes: Self.largeBytes)
      let a = heap.allocate(size: 100, alignment: 16)!
      let b = heap.allocate(size: 3000, alignment: 16)!
      let c = heap.allocate(size: 0, alignment: 1)!
      let peak = 128 + blockSize(3000) + 16
      #expect(
        heap.statistics
          == HeapStatistics(
            capacity: 2 * 4096 + Self.largeBytes, bytesInUse: peak, peakBytesInUse: peak,
            liveAllocations: 3, totalAllocations: 3, failedAllocations: 0))

      mustFree(&heap, b)
      #expect(heap.allocate(size: 16, alignment: 3) == nil)
      #expect(heap.allocate(size: 2 << 20, alignment: 16) == nil)
      let d = heap.allocate(size: 24, alignment: 8)!
      #expect(
        heap.statistics
          == HeapStatistics(
            capacity: 3 * 4096 + Self.largeBytes, bytesInUse: 128 + 16 + 32, peakBytesInUse: peak,
            liveAllocations: 3, totalAllocations: 4, failedAllocations: 2))

      for pointer in [a, c, d] { mustFree(&heap, pointer) }
      #expect(
        heap.statistics
          == HeapStatistics(
            capacity: 3 * 4096 + Self.largeBytes, bytesInUse: 0, peakBytesInUse: peak,
            liveAllocations: 0, totalAllocations: 4, failedAllocations: 2))
      expectConsistent(heap)
    }
  }

  @Test(arguments: [0x5EED_0002, 0xC0FF_EE43] as [UInt64])
  func randomAllocationsNeverOverlap(seed: UInt64) {
    let pages = HostPages(count: 1024)
    let largeBytes = 8 << 20
    withHostMemory(bytes: largeBytes) { large in
      var heap = makeHeap(pages, large: large, bytes: largeBytes)
      let largeRange = addresses(large, bytes: largeBytes)
      var random = XorShift(seed: seed)
      var live: [FilledBlock] = []
      var failures = 0

      for step in 0..<20_000 {
        let wantsMore = live.count < 400 && random.next(below: 100) < 55
        if live.isEmpty || wantsMore {
          let size =
            random.next(below: 100) < 70 ? random.next(below: 2049) : random.next(below: 8193)
          let alignment = 1 << random.next(below: 13)
          guard let pointer = heap.allocate(size: size, alignment: alignment) else {
            failures += 1
            continue
          }
          let block = FilledBlock(pointer: pointer, size: size, seed: UInt64(step))
          let small = classSize(size: size, alignment: alignment) != nil
          guard isAligned(pointer, to: alignment),
            small ? pages.holds(pointer) : largeRange.contains(UInt(bitPattern: pointer)),
            live.allSatisfy({ !$0.addresses.overlaps(block.addresses) })
          else {
            Issue.record("step \(step): bad block at \(pointer), \(size) bytes")
            return
          }
          block.fill()
          live.append(block)
        } else {
          let block = live.remove(at: random.next(below: live.count))
          guard block.isIntact else {
            Issue.record("step \(step): block at \(block.pointer) was overwritten")
            return
          }
          mustFree(&heap, block.pointer)
        }

        guard heap.verify() else {
          Issue.record("step \(step): heap inconsistent")
          return
        }
        if step % 1000 == 0 {
          #expect(live.allIntact, "step \(step)")
        }
      }

      #expect(failures == 0)
      #expect(heap.statistics.liveAllocations == live.count)
      #expect(heap.statistics.failedAllocations == failures)
      #expect(live.allIntact)
      for block in live { mustFree(&heap, block.pointer) }
      #expect(heap.statistics.bytesInUse == 0)
      #expect(heap.statistics.liveAllocations == 0)
      #expect(pages.pagesOut <= 8)
      #expect(heap.statistics.capacity == pages.pagesOut * 4096 + largeBytes)
      expectConsistent(heap)
    }
  }
}

/// Pages for slabs from one 4 KiB-aligned host buffer, counting what goes out and
/// checking what comes back. Fresh pages hold junk, as reused frames would.
private final class HostPages {
  let base: UnsafeMutableRawPointer
  let count: Int
  /// Pages to hand out before any from the buffer, whatever they are.
  var pending: [UnsafeMutableRawPointer] = []
  /// Whether a page given back is filled with junk, as if someone else had it next.
  var junksReturnedPages = true
  /// How many pages have been handed out, ever.
  private(set) var pagesGiven = 0
  private var unused: [UnsafeMutableRawPointer]
  private var out: Set<UnsafeMutableRawPointer> = []

  init(count: Int) {
    self.count = count
    let base = UnsafeMutableRawPointer.allocate(byteCount: count * 4096, alignment: 4096)
    base.initializeMemory(as: UInt8.self, repeating: 0xEE, count: count * 4096)
    self.base = base
    // Handed out lowest first.
    unused = (0..<count).reversed().map { base + $0 * 4096 }
  }

  deinit {
    base.deallocate()
  }

  /// Pages handed out and not given back.
  var pagesOut: Int { out.count }

  /// Whether `pointer` is in the buffer.
  func holds(_ pointer: UnsafeMutableRawPointer) -> Bool {
    base <= pointer && pointer < base + count * 4096
  }

  /// Whether the page `pointer` is in is out.
  func holdsOut(_ pointer: UnsafeMutableRawPointer) -> Bool {
    out.contains(UnsafeMutableRawPointer(bitPattern: UInt(bitPattern: pointer) & ~4095)!)
  }

  func allocate() -> UnsafeMutableRawPointer? {
    let next = pending.isEmpty ? unused.popLast() : pending.removeFirst()
    guard let page = next else { return nil }
    pagesGiven += 1
    out.insert(page)
    return page
  }

  func free(_ page: UnsafeMutableRawPointer) {
    guard out.remove(page) != nil else {
      Issue.record("page \(page) given back but not out")
      return
    }
    // Pages from `pending` go nowhere.
    guard holds(page), UInt(bitPattern: page) % 4096 == 0 else { return }
    if junksReturnedPages {
      page.initializeMemory(as: UInt8.self, repeating: 0xEE, count: 4096)
    }
    unused.append(page)
  }
}

private struct HostPageSource: PageSource {
  let pages: HostPages

  func allocatePage() -> UnsafeMutableRawPointer? { pages.allocate() }
  func freePage(_ page: UnsafeMutableRawPointer) { pages.free(page) }
}

private typealias TestHeap = SizeClassHeap<HostPageSource>

/// A heap taking slabs from `pages`, with one large region: `bytes` at `large`.
private func makeHeap(_ pages: HostPages, large: UnsafeMutableRawPointer, bytes: Int) -> TestHeap {
  var heap = TestHeap(pageSource: HostPageSource(pages: pages))
  let added = heap.addLargeRegion(base: large, size: bytes)
  precondition(added, "region rejected")
  return heap
}

/// The size of the slab objects that serve `size` bytes at `alignment`, or nil if the
/// large heap serves them.
private func classSize(size: Int, alignment: Int) -> Int? {
  let needed = max(size, alignment, TestHeap.smallestClass)
  guard needed <= TestHeap.largestClass else { return nil }
  var objectSize = TestHeap.smallestClass
  while objectSize < needed { objectSize *= 2 }
  return objectSize
}

private func addresses(_ base: UnsafeMutableRawPointer, bytes: Int) -> Range<UInt> {
  UInt(bitPattern: base)..<UInt(bitPattern: base + bytes)
}

// The helpers below are `HeapTestSupport`'s, for this heap; see there for why they exist.

private func addLargeRegion(_ heap: inout TestHeap, _ base: UnsafeMutableRawPointer, size: Int)
  -> Bool
{
  heap.addLargeRegion(base: base, size: size)
}

private func freeError(_ heap: inout TestHeap, _ pointer: UnsafeMutableRawPointer)
  -> HeapFreeError?
{
  do {
    try heap.free(pointer)
    return nil
  } catch {
    return error
  }
}

private func mustFree(_ heap: inout TestHeap, _ pointer: UnsafeMutableRawPointer) {
  if let error = freeError(&heap, pointer) {
    Issue.record("free(\(pointer)) failed: \(error)")
  }
}

private func expectConsistent(
  _ heap: borrowing TestHeap, sourceLocation: SourceLocation = #_sourceLocation
) {
  let consistent = heap.verify()
  #expect(consistent, "heap.verify() failed", sourceLocation: sourceLocation)
}
