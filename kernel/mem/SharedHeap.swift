/// The shared heap: the only memory domains may pass to each other, with a registry entry
/// saying who owns each allocation and how many calls borrow it.
///
/// Every allocation is a `FreeListHeap` block holding a 64-byte header (the registry entry,
/// laid out as `SharedHeader` describes) and then the payload, which is what the RRef code
/// in domains reads and writes. A payload aligned to more than 64 bytes starts at the
/// block's alignment instead, the header just below it and padding in front. The headers of
/// all live allocations are linked into one doubly-linked list, newest first, so that
/// reclaiming a dead domain's memory and counting what an owner holds need no allocation.
///
/// The calls on the cross-domain path, `move`, `borrow` and `endBorrow`, find the entry from
/// the payload pointer: a bounds check against the span of the regions, then the header's
/// magic (one load and compare), and they never walk the list. The generated proxies go
/// further and use the unchecked `unsafeSetOwner`, `unsafeAddBorrow` and
/// `unsafeRemoveBorrow` on payloads they validated when the RRef was made. The calls that
/// free, and `entry`, also check that the header describes a block the backing heap handed
/// out and that its list neighbours point back at it, so that a bogus pointer cannot
/// corrupt the list.
///
/// The magic catches bugs, not malice: domains are safe Swift and never hold a raw pointer,
/// so every payload pointer the heap sees comes from trusted code. A payload freed and handed
/// out again at the same address is a new, valid payload; the heap cannot tell the two apart.
///
/// Nothing here is synchronized, the header fields included: the kernel runs the heap under
/// its lock, and a proxy touches a header only for an RRef that its call holds.
///
/// Like `FreeListHeap`, the shared heap never allocates, and it is noncopyable so that no
/// copy can hand out the same memory twice.
public struct SharedHeap: ~Copyable {
  /// Bytes of registry entry in front of every payload.
  public static let headerSize = Int(SharedHeader.size)
  /// The largest payload alignment `allocate` accepts.
  public static let maximumAlignment = 4096

  /// The backing allocator; each of its live blocks is one shared allocation.
  private(set) var heap = FreeListHeap()
  /// The payload of the newest live allocation, the head of the list; 0 if there is none.
  private(set) var newest: UInt = 0
  /// Where payloads can lie: the fast paths' bounds check.
  private(set) var bounds = PayloadBounds()
  /// Live allocations and their payload bytes, orphans included.
  private(set) var liveCounts = SharedOwnerStatistics()
  /// Live allocations whose owner has died.
  private(set) var orphanCounts = SharedOwnerStatistics()

  /// An empty heap: every allocation fails until a region is added.
  public init() {}

  /// Adds the memory `[base, base + size)` to the heap, as `FreeListHeap.addRegion` does,
  /// and returns false if that refuses it.
  ///
  /// The fast paths' bounds check covers everything from the lowest region to the end of
  /// the highest, so memory between regions must be readable (as the kernel's direct map
  /// is): a bogus pointer into a gap is read before it is refused.
  public mutating func addRegion(base: UnsafeMutableRawPointer, size: Int) -> Bool {
    guard heap.addRegion(base: base, size: size) else { return false }
    bounds = PayloadBounds(
      lowest: heap.regions[0].start, highest: heap.regions[heap.regionCount - 1].end)
    return true
  }

  /// A payload of `size` bytes aligned to `alignment`, owned by `owner`, with no borrows, or
  /// nil if out of memory or if the request makes no sense (`size` negative, `alignment`
  /// not a power of two or above `maximumAlignment`).
  ///
  /// Every payload is at least 16-byte aligned. `typeTag` and `dropHandler` are recorded
  /// for the proxies and the domain manager; the heap does not interpret them.
  public mutating func allocate(
    size: Int, alignment: Int, owner: DomainOwner, typeTag: UInt64, dropHandler: UInt64
  ) -> UnsafeMutableRawPointer? {
    guard size >= 0, alignment > 0, alignment & (alignment - 1) == 0,
      alignment <= Self.maximumAlignment
    else { return nil }
    // The header ends where the payload starts, which must be a multiple of the alignment.
    let offset = max(alignment, Self.headerSize)
    let (blockSize, overflow) = size.addingReportingOverflow(offset)
    guard !overflow, let block = heap.allocate(size: blockSize, alignment: alignment) else {
      return nil
    }
    let header = SharedHeader(payload: UInt(bitPattern: block) + UInt(offset))
    header.format(
      size: size, padding: UInt(offset) - SharedHeader.size, owner: owner, typeTag: typeTag,
      dropHandler: dropHandler)
    header.next = newest
    if newest != 0 { SharedHeader(payload: newest).previous = header.payload }
    newest = header.payload
    liveCounts.allocations += 1
    liveCounts.bytes += size
    return header.pointer
  }

  /// Frees a payload. Only its owner may free it, and only while nobody borrows it.
  ///
  /// Throws `notShared` for a pointer that is not a live payload, `notOwner` if `owner`
  /// does not own it, `orphaned` if its owner has died (the last `endBorrow` frees it), and
  /// `borrowed` while a call borrows it.
  public mutating func free(
    _ payload: UnsafeMutableRawPointer, by owner: DomainOwner
  ) throws(SharedHeapError) {
    let header = try listedHeader(payload)
    try checkOwner(header, is: owner)
    guard header.borrows == 0 else { throw borrowedError(header) }
    release(header)
  }

  /// The registry entry of a payload, or `notShared` if it is not a live one.
  public func entry(_ payload: UnsafeMutableRawPointer) throws(SharedHeapError)
    -> SharedAllocation
  {
    try listedHeader(payload).snapshot
  }

  /// Gives a payload from one owner to another, as a call that takes an RRef does.
  ///
  /// Only the current owner may give it away, and not while it is borrowed. Throws
  /// `notShared`, `notOwner` (if `from` is not the owner), `orphaned` or `borrowed`.
  public mutating func move(
    _ payload: UnsafeMutableRawPointer, from: DomainOwner, to: DomainOwner
  ) throws(SharedHeapError) {
    let header = try bounds.header(payload)
    try checkOwner(header, is: from)
    guard header.borrows == 0 else { throw borrowedError(header) }
    header.owner = to.rawValue
  }

  /// Raises a payload's borrow count for the duration of a call.
  ///
  /// Any domain may borrow, the owner of an orphan included (a borrower passing it on).
  /// Throws `notShared`, or `tooManyBorrows` if the count is at `UInt32.max`.
  public mutating func borrow(_ payload: UnsafeMutableRawPointer) throws(SharedHeapError) {
    let header = try bounds.header(payload)
    let borrows = header.borrows
    guard borrows < UInt32.max else { throw .tooManyBorrows(address: header.payload) }
    header.borrows = borrows + 1
  }

  /// Ends a borrow. If the owner has died meanwhile and this was the last borrow, frees the
  /// payload and returns true; otherwise returns false.
  ///
  /// Throws `notShared`, or `notBorrowed` if nobody borrows the payload.
  @discardableResult
  public mutating func endBorrow(_ payload: UnsafeMutableRawPointer) throws(SharedHeapError)
    -> Bool
  {
    let header = try bounds.header(payload)
    let borrows = header.borrows
    guard borrows > 0 else { throw .notBorrowed(address: header.payload) }
    guard borrows == 1, header.isOrphaned else {
      header.borrows = borrows - 1
      return false
    }
    // About to unlink: check the neighbours before trusting them.
    guard header.hasPlausibleLayout, header.isListed(head: newest, bounds: bounds) else {
      throw .notShared(address: header.payload)
    }
    header.borrows = 0
    release(header)
    return true
  }

  /// Frees an orphan whose last borrow a proxy ended with `unsafeRemoveBorrow` (which then
  /// returned true).
  ///
  /// Throws `notShared`, `notOrphaned` if its owner is alive, or `borrowed` if a borrow
  /// has begun since.
  public mutating func freeOrphan(_ payload: UnsafeMutableRawPointer) throws(SharedHeapError) {
    let header = try listedHeader(payload)
    guard header.isOrphaned else { throw .notOrphaned(address: header.payload) }
    guard header.borrows == 0 else { throw borrowedError(header) }
    release(header)
  }

  /// A domain died: frees everything it owns that nobody borrows, and marks what it owns
  /// that is borrowed orphaned, to be freed when its last borrow ends.
  ///
  /// Returns how many allocations were freed, their payload bytes, and how many became
  /// orphans. Orphans of an earlier death of the same id are left alone, so a domain
  /// restarted under its old id neither owns nor reclaims them.
  @discardableResult
  public mutating func reclaim(owner: DomainOwner) -> (freed: Int, bytes: Int, orphaned: Int) {
    var freed = SharedOwnerStatistics()
    var orphans = 0
    let ownerWord = UInt64(owner.rawValue)
    var payload = newest
    while payload != 0 {
      let header = SharedHeader(payload: payload)
      payload = header.next
      guard header.ownerWord == ownerWord else { continue }
      if header.borrows == 0 {
        freed.allocations += 1
        freed.bytes += header.size
        release(header)
      } else {
        header.isOrphaned = true
        orphanCounts.allocations += 1
        orphanCounts.bytes += header.size
        orphans += 1
      }
    }
    return (freed.allocations, freed.bytes, orphans)
  }

  /// What `owner` holds: its live allocations, orphans excluded. Walks the list.
  public func statistics(for owner: DomainOwner) -> SharedOwnerStatistics {
    var statistics = SharedOwnerStatistics()
    let ownerWord = UInt64(owner.rawValue)
    var payload = newest
    while payload != 0 {
      let header = SharedHeader(payload: payload)
      if header.ownerWord == ownerWord {
        statistics.allocations += 1
        statistics.bytes += header.size
      }
      payload = header.next
    }
    return statistics
  }

  /// All live allocations, orphans included.
  public var totals: SharedOwnerStatistics { liveCounts }

  /// The live allocations whose owner has died and that wait for their last borrow to end.
  public var orphans: SharedOwnerStatistics { orphanCounts }

  /// The backing heap's counters: capacity, and bytes in use with headers and padding.
  public var heapStatistics: HeapStatistics { heap.statistics }

  /// The header in front of `payload` if it also describes a block the backing heap has
  /// handed out and its list neighbours point back at it: safe to unlink.
  private func listedHeader(_ payload: UnsafeMutableRawPointer) throws(SharedHeapError)
    -> SharedHeader
  {
    let header = try bounds.header(payload)
    guard header.hasPlausibleLayout, header.isListed(head: newest, bounds: bounds) else {
      throw .notShared(address: header.payload)
    }
    return header
  }

  /// Throws unless `owner` owns the payload and is alive.
  private func checkOwner(_ header: SharedHeader, is owner: DomainOwner) throws(SharedHeapError) {
    guard header.ownerWord != UInt64(owner.rawValue) else { return }
    if header.isOrphaned { throw .orphaned(address: header.payload, owner: header.owner) }
    throw .notOwner(address: header.payload, owner: header.owner)
  }

  private func borrowedError(_ header: SharedHeader) -> SharedHeapError {
    .borrowed(address: header.payload, borrows: Int(header.borrows))
  }

  /// Unlinks a checked header, spoils its magic and gives its block back.
  private mutating func release(_ header: SharedHeader) {
    let next = header.next
    let previous = header.previous
    if next != 0 { SharedHeader(payload: next).previous = previous }
    if previous != 0 {
      SharedHeader(payload: previous).next = next
    } else {
      newest = next
    }
    let size = header.size
    liveCounts.allocations -= 1
    liveCounts.bytes -= size
    if header.isOrphaned {
      orphanCounts.allocations -= 1
      orphanCounts.bytes -= size
    }
    let block = header.block
    header.erase()
    do {
      try heap.free(block)
    } catch {
      // The header passed every check, so the block under it is the heap's: a refusal
      // means the backing heap is corrupt, and nothing sensible can continue.
      fatalError("shared heap: the backing heap refused a block under a valid header")
    }
  }
}

/// The addresses a payload can have: from just past the headers at the start of the lowest
/// region to the end of the highest, 16-byte aligned. Empty until a region is added.
struct PayloadBounds {
  /// The lowest address a payload can have.
  private(set) var first: UInt = 0
  /// How far above `first` payloads can lie.
  private(set) var span: UInt = 0

  init() {}

  /// Bounds for regions from `lowest` to `highest`.
  init(lowest: UInt, highest: UInt) {
    first = lowest + UInt(FreeListHeap.headerSize) + SharedHeader.size
    span = highest > first ? highest - first : 0
  }

  func contains(_ payload: UInt) -> Bool {
    payload &- first < span && payload % 16 == 0
  }

  /// The header in front of `payload` if the payload lies within bounds and the header's
  /// magic matches its address.
  func header(_ payload: UnsafeMutableRawPointer) throws(SharedHeapError) -> SharedHeader {
    let address = UInt(bitPattern: payload)
    let header = SharedHeader(payload: address)
    guard contains(address), header.hasMagic else { throw .notShared(address: address) }
    return header
  }
}
