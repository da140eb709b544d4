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
/// The calls on the cross-domain path, `adopt`, `move`, `borrow` and `endBorrow`, find the
/// entry from the payload pointer: a bounds check against the span of the regions, then the
/// header's magic, and they never walk the list. The generated proxies lend with the
/// unchecked `unsafeAddBorrow` and `unsafeRemoveBorrow` on payloads they validated when the
/// RRef was made. The calls that free, and `entry`, also check that the header describes a
/// block the backing heap handed out and that its list neighbours point back at it, so that
/// a bogus pointer cannot corrupt the list.
///
/// A move across a call has two halves. The owner's trusted library marks the payload in
/// transit as it gives it into the call (one store, no kernel call); the receiver adopts it
/// through `adopt`, which checks it is a live payload of the expected type, in transit, not
/// borrowed, and owned by the other side of that very call, and only then makes the
/// receiver its owner. So a payload is adopted once, by the side it was sent to, and a lent
/// one never. One the receiver never adopted goes back with `freeUndelivered`.
///
/// The magic is mixed with a secret the heap is made with (`init(secret:)`), so payload
/// bytes a domain chose cannot pass for a header. A payload freed and handed out again at
/// the same address is a new, valid payload; the heap cannot tell the two apart.
///
/// Every owner is charged for what it holds, whole backing blocks (`accountedBytes`), in
/// transit or not; `allocate` refuses an owner over the limit it is given, and any owner
/// but the kernel the last `kernelReserve` bytes of the heap. A payload an owner adopts is
/// charged to it even over its limit (the move cannot be refused half done): the owner then
/// cannot allocate until it is back under.
///
/// Nothing here is synchronized, the header fields included: the kernel runs the heap under
/// its lock, and a proxy touches a header only for an RRef that its call holds.
///
/// The shared heap allocates only its owners' accounts table, once, when it is made; it is
/// noncopyable so that no copy can hand out the same memory twice.
public struct SharedHeap: ~Copyable {
  /// Bytes of registry entry in front of every payload.
  public static let headerSize = Int(SharedHeader.size)
  /// The largest payload alignment `allocate` accepts.
  public static let maximumAlignment = 4096

  /// The backing allocator; each of its live blocks is one shared allocation.
  private(set) var heap = FreeListHeap()
  /// The payload of the newest live allocation, the head of the list; 0 if there is none.
  private(set) var newest: UInt = 0
  /// Where payloads can lie and how their headers are recognized: the fast paths' check.
  private(set) var bounds: PayloadBounds
  /// Live allocations and their payload bytes, orphans included.
  private(set) var liveCounts = SharedOwnerStatistics()
  /// Live allocations whose owner has died.
  private(set) var orphanCounts = SharedOwnerStatistics()
  /// What each living owner is charged for; orphans are nobody's.
  private(set) var accounts = SharedHeapAccounts()

  /// Bytes of the backing heap that only the kernel's own allocations may take.
  public var kernelReserve = 0

  /// An empty heap whose headers' magic mixes in `secret`: every allocation fails until a
  /// region is added. The kernel draws the secret at boot; tests pass a fixed one.
  public init(secret: UInt64) {
    bounds = PayloadBounds(secret: secret)
  }

  /// Adds the memory `[base, base + size)` to the heap, as `FreeListHeap.addRegion` does,
  /// and returns false if that refuses it.
  ///
  /// The fast paths' bounds check covers everything from the lowest region to the end of
  /// the highest, so memory between regions must be readable (as the kernel's direct map
  /// is): a bogus pointer into a gap is read before it is refused.
  public mutating func addRegion(base: UnsafeMutableRawPointer, size: Int) -> Bool {
    guard heap.addRegion(base: base, size: size) else { return false }
    bounds = PayloadBounds(
      lowest: heap.regions[0].start, highest: heap.regions[heap.regionCount - 1].end,
      secret: bounds.secret)
    return true
  }

  /// A payload of `size` bytes aligned to `alignment`, owned by `owner`, with no borrows, or
  /// nil if out of memory, if the request makes no sense (`size` negative, `alignment` not a
  /// power of two or above `maximumAlignment`), if `owner` would then be charged more than
  /// `limit` bytes (`accountedBytes`), or if an owner other than the kernel would take
  /// any of the last `kernelReserve` bytes.
  ///
  /// Every payload is at least 16-byte aligned. `typeTag` and `dropHandler` are recorded
  /// for the proxies and the domain manager; the heap does not interpret them.
  public mutating func allocate(
    size: Int, alignment: Int, owner: DomainOwner, typeTag: UInt64, dropHandler: UInt64,
    limit: Int = .max
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
    // Checked once the block is there, when its exact size is known; a refusal, the rare
    // case, gives it straight back.
    let charge = Int(HeapBlock(payload: UInt(bitPattern: block)).size)
    guard fits(charge, owner: owner, limit: limit) else {
      try? heap.free(block)
      return nil
    }
    let header = SharedHeader(payload: UInt(bitPattern: block) + UInt(offset))
    header.format(
      size: size, padding: UInt(offset) - SharedHeader.size, owner: owner, typeTag: typeTag,
      dropHandler: dropHandler, secret: bounds.secret)
    header.next = newest
    if newest != 0 { SharedHeader(payload: newest).previous = header.payload }
    newest = header.payload
    liveCounts.allocations += 1
    liveCounts.bytes += size
    accounts.charge(owner, charge)
    return header.pointer
  }

  /// Whether `owner` may be charged for a block of `charge` bytes it has just been given:
  /// within `limit`, and, for any owner but the kernel, with the backing heap's use (that
  /// block included) clear of the kernel's reserve.
  @inline(__always)
  private func fits(_ charge: Int, owner: DomainOwner, limit: Int) -> Bool {
    guard charge <= limit && accounts[owner] <= limit - charge else { return false }
    guard owner != .kernel else { return true }
    return heap.statistics.bytesInUse <= heap.statistics.capacity - kernelReserve
  }

  /// Frees a payload. Only its owner may free it, and only while nobody borrows it.
  ///
  /// Throws `notShared` for a pointer that is not a live payload, `notOwner` if `owner`
  /// does not own it or has moved it into a call, `orphaned` if its owner has died (the last `endBorrow` frees it), and
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

  /// Gives a payload from one owner to another in one step, for the kernel's own use.
  ///
  /// Only the current owner may give it away, and not while it is borrowed or in transit.
  /// Throws `notShared`, `notOwner` (if `from` is not the owner, or it is in transit),
  /// `orphaned` or `borrowed`.
  public mutating func move(
    _ payload: UnsafeMutableRawPointer, from: DomainOwner, to: DomainOwner
  ) throws(SharedHeapError) {
    let header = try bounds.header(payload)
    try checkOwner(header, is: from)
    guard header.borrows == 0 else { throw borrowedError(header) }
    changeOwner(header, to: to)
  }

  /// Makes `adopter` the owner of a payload moved to it across a call, and ends its transit.
  ///
  /// `sender` is the other side of the call as the kernel knows it: the caller, when the
  /// adopter is the callee taking an argument, or the callee, when the adopter takes a
  /// call's result. Throws, and changes nothing, unless the payload is live (`notShared`),
  /// of type `expectedTag` (`wrongType`), alive (`orphaned`), in transit (`notInTransit`:
  /// never moved, lent, or adopted already), not borrowed (`borrowed`) and owned by
  /// `sender` (`notFromSender`). The adopter is charged for it whatever its limit.
  public mutating func adopt(
    _ payload: UnsafeMutableRawPointer, by adopter: DomainOwner, expectedTag: UInt64,
    from sender: DomainOwner
  ) throws(SharedHeapError) {
    changeOwner(try adoptable(payload, expectedTag: expectedTag, from: sender), to: adopter)
  }

  /// Adopts a deque moved to `adopter` in one step: its ring and every element the ring
  /// lists, all or none. The ring is an RRef tagged `ringTag` laid out as `DequeRing`
  /// says; each element must be adoptable as `adopt` would take it, tagged `elementTag`.
  /// If the ring, its head or count, or any element is refused, everything adopted so far
  /// goes back to the sender, still in transit, and the refusal is thrown: nothing
  /// changes, and the sender can take it all back (`freeUndelivered`). An element listed
  /// twice is refused the second time (it is no longer in transit). Returns the element
  /// count.
  public mutating func adoptDeque(
    _ ring: UnsafeMutableRawPointer, ringTag: UInt64, elementTag: UInt64,
    by adopter: DomainOwner, from sender: DomainOwner
  ) throws(SharedHeapError) -> Int {
    let ringHeader = try adoptable(ring, expectedTag: ringTag, from: sender)
    let ringSize = Int(ringTag >> 16)
    guard ringSize >= DequeRing.elementsOffset, ringSize <= ringHeader.size else {
      throw .wrongType(address: ringHeader.payload, tag: ringHeader.typeTag)
    }
    let capacity = (ringSize - DequeRing.elementsOffset) / 8
    let head = ring.load(fromByteOffset: DequeRing.headOffset, as: Int.self)
    let count = ring.load(fromByteOffset: DequeRing.countOffset, as: Int.self)
    guard head >= 0, head < max(capacity, 1), count >= 0, count <= capacity else {
      throw .badRing(address: ringHeader.payload)
    }
    // Each element changes hands as it is checked, so one listed twice is refused the
    // second time; the charges move once, for all of them, at the end.
    let adopterWord = UInt64(adopter.rawValue)
    var charges = 0
    var slot = head
    var adopted = 0
    while adopted < count {
      let element = DequeRing.element(of: ring, slot)
      do throws(SharedHeapError) {
        guard let payload = UnsafeMutableRawPointer(bitPattern: element) else {
          throw .notShared(address: 0)
        }
        let header = try adoptable(payload, expectedTag: elementTag, from: sender)
        charges += header.charge
        header.ownerWord = adopterWord
      } catch {
        var undone = head
        for _ in 0..<adopted {
          let header = SharedHeader(payload: DequeRing.element(of: ring, undone))
          header.ownerWord = UInt64(sender.rawValue)
          header.state = SharedHeader.inTransitFlag
          undone = undone + 1 == capacity ? 0 : undone + 1
        }
        throw error
      }
      adopted += 1
      slot = slot + 1 == capacity ? 0 : slot + 1
    }
    accounts.charge(sender, -charges)
    accounts.charge(adopter, charges)
    changeOwner(ringHeader, to: adopter)
    return count
  }

  /// The header of a payload `adopt` would take from `sender`, or why not. (Mutating
  /// only so that calls from mutating methods pass `self` by address: as a plain method
  /// it was handed a copy of the whole heap, 408 bytes, on every call.)
  private mutating func adoptable(
    _ payload: UnsafeMutableRawPointer, expectedTag: UInt64, from sender: DomainOwner
  ) throws(SharedHeapError) -> SharedHeader {
    let header = try bounds.header(payload)
    guard header.typeTag == expectedTag else {
      throw .wrongType(address: header.payload, tag: header.typeTag)
    }
    if header.isOrphaned { throw .orphaned(address: header.payload, owner: header.owner) }
    guard header.isInTransit else { throw .notInTransit(address: header.payload) }
    guard header.borrows == 0 else { throw borrowedError(header) }
    guard header.owner == sender.rawValue else {
      throw .notFromSender(address: header.payload, owner: header.owner)
    }
    return header
  }

  /// Frees a payload its owner moved into a call that did not adopt it: the call never
  /// reached the other side, or the other side crashed first.
  ///
  /// The owner asks after every call that failed, not knowing whether the other side
  /// adopted the payload first; if it did, the payload is no longer the owner's in transit,
  /// and this throws, changing nothing: `notShared` (freed since, with the crashed
  /// adopter), `notInTransit` (the adopter holds it, or it was never moved), `notOwner`
  /// (another owner, or the payload is an orphan) or `borrowed`.
  public mutating func freeUndelivered(
    _ payload: UnsafeMutableRawPointer, by owner: DomainOwner
  ) throws(SharedHeapError) {
    let header = try listedHeader(payload)
    guard header.owner == owner.rawValue, !header.isOrphaned else {
      throw .notOwner(address: header.payload, owner: header.owner)
    }
    guard header.isInTransit else { throw .notInTransit(address: header.payload) }
    guard header.borrows == 0 else { throw borrowedError(header) }
    release(header)
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
  /// that is borrowed orphaned, to be freed when its last borrow ends. What it had moved
  /// into a call and the other side had not adopted yet is its own too: freed here, so an
  /// adoption after the death is refused and nothing is freed twice.
  ///
  /// Returns how many allocations were freed, their payload bytes, and how many became
  /// orphans. Orphans of an earlier death of the same id are left alone, so a domain
  /// restarted under its old id neither owns nor reclaims them, nor is charged for them.
  @discardableResult
  public mutating func reclaim(owner: DomainOwner) -> (freed: Int, bytes: Int, orphaned: Int) {
    var freed = SharedOwnerStatistics()
    var orphans = 0
    var payload = newest
    while payload != 0 {
      let header = SharedHeader(payload: payload)
      payload = header.next
      guard header.owner == owner.rawValue, !header.isOrphaned else { continue }
      if header.borrows == 0 {
        freed.allocations += 1
        freed.bytes += header.size
        release(header)
      } else {
        accounts.charge(owner, -header.charge)
        header.state = SharedHeader.orphanedFlag
        orphanCounts.allocations += 1
        orphanCounts.bytes += header.size
        orphans += 1
      }
    }
    return (freed.allocations, freed.bytes, orphans)
  }

  /// A thread unwound past a domain that died: what was sent on it and is still in
  /// transit was on its way into the dead domain's frames (a result its callee moved back
  /// as it returned), and nobody will adopt it now. Frees every unborrowed payload in
  /// transit whose sender marked it with `thread` (SharedHeader's `sentOn` word), and,
  /// if `owner` is given, that `owner` still holds (a move of its own the call never
  /// took). Returns how many.
  @discardableResult
  public mutating func reclaimSent(onThread thread: UInt64, owner: DomainOwner? = nil) -> Int {
    var freed = 0
    var payload = newest
    while payload != 0 {
      let header = SharedHeader(payload: payload)
      payload = header.next
      guard header.isInTransit, !header.isOrphaned, header.borrows == 0,
        header.sentOn == thread, owner == nil || header.owner == owner!.rawValue
      else { continue }
      release(header)
      freed += 1
    }
    return freed
  }

  /// What `owner` holds: its live allocations, in transit or not, orphans excluded. Walks
  /// the list.
  public func statistics(for owner: DomainOwner) -> SharedOwnerStatistics {
    var statistics = SharedOwnerStatistics()
    var payload = newest
    while payload != 0 {
      let header = SharedHeader(payload: payload)
      if header.owner == owner.rawValue && !header.isOrphaned {
        statistics.allocations += 1
        statistics.bytes += header.size
      }
      payload = header.next
    }
    return statistics
  }

  /// What `owner` is charged for: the backing blocks of everything it holds, in transit or
  /// not, orphans excluded. What `allocate`'s limit is checked against.
  public func accountedBytes(of owner: DomainOwner) -> Int { accounts[owner] }

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

  /// Makes `owner` hold a checked, living payload, out of transit, and moves the charge.
  @inline(__always)
  private mutating func changeOwner(_ header: SharedHeader, to owner: DomainOwner) {
    let charge = header.charge
    accounts.charge(DomainOwner(header.owner), -charge)
    accounts.charge(owner, charge)
    header.ownerWord = UInt64(owner.rawValue)
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
    } else {
      accounts.charge(DomainOwner(header.owner), -header.charge)
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
/// region to the end of the highest, that end included (a payload of no bytes in the last
/// block of the highest region starts there), 16-byte aligned; and the secret their
/// headers' magic mixes in. Empty until a region is added.
struct PayloadBounds {
  /// The lowest address a payload can have.
  private(set) var first: UInt = 0
  /// How far above `first` payloads can lie.
  private(set) var span: UInt = 0
  let secret: UInt64

  /// No payloads yet, headers recognized with `secret`.
  init(secret: UInt64) {
    self.secret = secret
  }

  /// Bounds for regions from `lowest` to `highest`.
  init(lowest: UInt, highest: UInt, secret: UInt64) {
    first = lowest + UInt(FreeListHeap.headerSize) + SharedHeader.size
    span = highest >= first ? highest - first + 1 : 0
    self.secret = secret
  }

  func contains(_ payload: UInt) -> Bool {
    payload &- first < span && payload % 16 == 0
  }

  /// The header in front of `payload` if the payload lies within bounds and the header's
  /// magic matches its address.
  func header(_ payload: UnsafeMutableRawPointer) throws(SharedHeapError) -> SharedHeader {
    let address = UInt(bitPattern: payload)
    let header = SharedHeader(payload: address)
    guard contains(address), header.hasMagic(secret) else { throw .notShared(address: address) }
    return header
  }
}

/// How an RRefDeque's ring is laid out in the shared heap (domains/lib/RRefArray.swift,
/// RRefDequeStorage, which checks that it agrees): the slot of the first element, the
/// element count, then the addresses of the elements, one word per slot. The ring's size
/// (from its type tag) gives the number of slots.
public enum DequeRing {
  public static let headOffset = 0
  public static let countOffset = 8
  public static let elementsOffset = 16

  static func element(of ring: UnsafeMutableRawPointer, _ slot: Int) -> UInt {
    ring.load(fromByteOffset: elementsOffset + 8 * slot, as: UInt.self)
  }
}
