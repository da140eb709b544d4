/// What the shared-heap fuzz target does with one input, and what the unit tests do with
/// each kept input: a sequence of registry operations decoded from the input, the ones
/// the kernel makes for domains (allocate, free, adopt, adopt a deque, give back what was
/// never delivered, free an orphan) and for itself (move, reclaim a dead domain, reclaim
/// what was sent on a thread), the proxies' lending, and a domain's writes into payloads
/// it owns, on live payloads and on bogus pointers alike. After every step the registry
/// must pass its own check (`verify`), every refusal must have changed nothing, every
/// success must be one the rules allow (the entry read before the call says whether),
/// and the totals and each owner's charges must add up to the payloads known to be live.
/// Shared by the libFuzzer target (tests/fuzz, `make fuzz`) and
/// `SharedHeapFuzzReplayTests`; nothing here may import Testing.
///
/// A domain's writes fill payload bytes with one repeated value: the magic that makes a
/// header is mixed with a secret the kernel never shows a domain, and a fuzzer that
/// watches comparisons would otherwise learn it (SharedHeapHeader.swift says why that is
/// not an attack a domain can make).
///
/// An input is a set-up byte (the kernel's reserve), then operations, one byte each
/// followed by their arguments.
import FuzzSupport
import Memory

enum SharedHeapFuzzing {
  static let secret: UInt64 = 0x5EC2_E7A5_0F00_D1E5
  /// Two regions with a gap between them, as the kernel's direct map has readable memory
  /// between regions.
  static let firstRegion = 0..<24 * 1024
  static let secondRegion = 32 * 1024..<72 * 1024
  static let owners = [0, 1, 2, 3, 255, 300].map { DomainOwner(UInt32($0)) }
  static let elementTag: UInt64 = 0x40 << 16 | 16
  static let tags: [UInt64] = [elementTag, 0x20 << 16 | 8, 7]
  static let threads: [UInt64] = [0, 1, 2]

  /// A payload the harness made and believes live: what allocate was asked and charged.
  struct Tracked {
    let pointer: UnsafeMutableRawPointer
    let size: Int
    let charge: Int
  }

  /// What the registry says of everything known, compared before and after a refusal.
  struct Snapshot: Equatable {
    var entries: [SharedAllocation?]
    var totals: SharedOwnerStatistics
    var orphans: SharedOwnerStatistics
    var accounted: [Int]
  }

  final class Harness {
    let memory: UnsafeMutableRawPointer
    var heap = SharedHeap(secret: SharedHeapFuzzing.secret)
    var input: FuzzInput
    var tracked: [Tracked] = []
    /// Pointers that were payloads once: stale, unless the memory was handed out again.
    var stale: [UnsafeMutableRawPointer] = []
    /// Payloads a proxy lends, one entry per borrow begun, each checked or not.
    var lent: [(pointer: UnsafeMutableRawPointer, checked: Bool)] = []
    /// Operations the registry allowed, and refused.
    var allowed = 0
    var refused = 0
    var dequesAdopted = 0
    var orphansFreed = 0

    init(_ data: [UInt8]) {
      input = FuzzInput(data)
      let span = SharedHeapFuzzing.secondRegion.upperBound
      memory = UnsafeMutableRawPointer.allocate(byteCount: span, alignment: 4096)
      memory.initializeMemory(as: UInt8.self, repeating: 0xA5, count: span)
      for region in [SharedHeapFuzzing.secondRegion, SharedHeapFuzzing.firstRegion] {
        precondition(heap.addRegion(base: memory + region.lowerBound, size: region.count))
      }
      heap.kernelReserve = Int(input.byte()) * 256
    }

    deinit { memory.deallocate() }

    // MARK: Choices

    private func owner() -> DomainOwner { SharedHeapFuzzing.owners[input.below(6)] }
    private func tag() -> UInt64 { SharedHeapFuzzing.tags[input.below(3)] }

    /// A payload the harness knows, mostly; else a stale one, one inside or beside a
    /// payload, anywhere in the regions and the gap, or (`anyNumber`) any number at all.
    private func pointer(anyNumber: Bool = true) -> UnsafeMutableRawPointer? {
      switch input.below(8) {
      case 0:
        guard !stale.isEmpty else { return nil }
        return stale[input.below(stale.count)]
      case 1:
        guard let payload = live() else { return nil }
        return payload + 16 * (input.below(9) - 4)
      case 2:
        return memory + 16 * input.below(SharedHeapFuzzing.secondRegion.upperBound / 16 + 8)
      case 3 where anyNumber:
        return UnsafeMutableRawPointer(bitPattern: UInt(input.uint64()))
      default:
        return live()
      }
    }

    private func live() -> UnsafeMutableRawPointer? {
      tracked.isEmpty ? nil : tracked[input.below(tracked.count)].pointer
    }

    // MARK: Checks

    func entry(_ pointer: UnsafeMutableRawPointer) -> SharedAllocation? { try? heap.entry(pointer) }

    func snapshot() -> Snapshot {
      Snapshot(
        entries: tracked.map { entry($0.pointer) }, totals: heap.totals, orphans: heap.orphans,
        accounted: SharedHeapFuzzing.owners.map { heap.accountedBytes(of: $0) })
    }

    /// An operation that may be refused: its refusal must change nothing, and whether it
    /// succeeded must be what `allowed` said from the entries before.
    func attempt(_ allowed: Bool, _ what: String, _ body: () throws(SharedHeapError) -> Void) {
      let before = snapshot()
      do throws(SharedHeapError) {
        try body()
        precondition(allowed, what)
        self.allowed += 1
      } catch {
        precondition(!allowed, what)
        refused += 1
        precondition(snapshot() == before, "a refusal changed the registry")
        _ = error.message
      }
    }

    /// After every step: the registry's own check, then the totals and charges against
    /// the payloads still live.
    func check() {
      precondition(heap.verify(), "the registry is inconsistent")
      var live: [Tracked] = []
      for payload in tracked {
        if entry(payload.pointer) != nil {
          live.append(payload)
        } else {
          stale.append(payload.pointer)
        }
      }
      tracked = live
      var totals = SharedOwnerStatistics()
      var orphans = SharedOwnerStatistics()
      var charged = [Int](repeating: 0, count: 256)
      var held: [UInt32: SharedOwnerStatistics] = [:]
      for payload in tracked {
        let entry = entry(payload.pointer)!
        totals.allocations += 1
        totals.bytes += payload.size
        if entry.isOrphaned {
          orphans.allocations += 1
          orphans.bytes += payload.size
        } else {
          charged[Int(min(entry.owner.rawValue, 255))] += payload.charge
          held[entry.owner.rawValue, default: SharedOwnerStatistics()].allocations += 1
          held[entry.owner.rawValue, default: SharedOwnerStatistics()].bytes += payload.size
        }
      }
      precondition(heap.totals == totals && heap.orphans == orphans, "the totals add up")
      for owner in SharedHeapFuzzing.owners {
        precondition(heap.accountedBytes(of: owner) == charged[Int(min(owner.rawValue, 255))])
        precondition(
          heap.statistics(for: owner) == held[owner.rawValue, default: SharedOwnerStatistics()])
      }
      for (pointer, _) in lent {
        precondition((entry(pointer)?.borrows ?? 0) > 0, "a lent payload lives")
      }
      stale = Array(stale.suffix(16))
    }

    // MARK: Steps

    func step() {
      switch input.below(16) {
      case 0, 1: allocate()
      case 2: free()
      case 3: move()
      case 4: send()
      case 5: adopt()
      case 6: adoptDeque()
      case 7: freeUndelivered()
      case 8: lend()
      case 9: giveBack()
      case 10: freeOrphan()
      case 11: reclaim()
      case 12: reclaimSent()
      case 13: scribble()
      default: _ = pointer().map(entry)
      }
      check()
    }

    private func allocate() {
      let size = [0, 1, 16, 64, 100, 1000, 6000, -1][input.below(8)] + input.below(16)
      let alignment = input.below(16) == 0 ? 3 : 1 << input.below(14)
      let (owner, typeTag) = (owner(), tag())
      let thread = SharedHeapFuzzing.threads[input.below(3)]
      let limit = [Int.max, Int.max, 0, 200, 1000, 4096, 20000][input.below(7)]
      _ = allocate(
        size: size, alignment: alignment, owner: owner, typeTag: typeTag, thread: thread,
        limit: limit)
    }

    /// `allocate`, checked: a payload only for a request that makes sense, aligned, new,
    /// clear of every other, charged within the limit, and outside the kernel's reserve.
    private func allocate(
      size: Int, alignment: Int, owner: DomainOwner, typeTag: UInt64, thread: UInt64,
      limit: Int = .max
    ) -> UnsafeMutableRawPointer? {
      let before = heap.accountedBytes(of: owner)
      guard
        let payload = heap.allocate(
          size: size, alignment: alignment, owner: owner, typeTag: typeTag, dropHandler: thread,
          limit: limit)
      else { return nil }
      precondition(
        size >= 0 && alignment <= SharedHeap.maximumAlignment && alignment & (alignment - 1) == 0)
      precondition(UInt(bitPattern: payload) % UInt(max(alignment, 16)) == 0, "aligned")
      let charge = heap.accountedBytes(of: owner) - before
      precondition(charge >= size + SharedHeap.headerSize && before + charge <= limit, "charged")
      precondition(
        entry(payload)
          == SharedAllocation(
            owner: owner, borrows: 0, size: size, typeTag: typeTag, dropHandler: thread))
      let start = UInt(bitPattern: payload) - UInt(SharedHeap.headerSize)
      let end = UInt(bitPattern: payload) + UInt(size)
      for other in tracked {
        let otherStart = UInt(bitPattern: other.pointer) - UInt(SharedHeap.headerSize)
        let otherEnd = UInt(bitPattern: other.pointer) + UInt(other.size)
        precondition(end <= otherStart || otherEnd <= start, "two payloads overlap")
      }
      if owner != .kernel {
        let backing = heap.heapStatistics
        precondition(backing.bytesInUse <= backing.capacity - heap.kernelReserve, "the reserve")
      }
      tracked.append(Tracked(pointer: payload, size: size, charge: charge))
      stale.removeAll { $0 == payload }
      return payload
    }

    private func free() {
      guard let payload = pointer() else { return }
      let owner = self.owner()
      let before = entry(payload)
      let allowed = before.map {
        $0.owner == owner && !$0.isOrphaned && !$0.isInTransit && $0.borrows == 0
      }
      attempt(allowed ?? false, "free") { () throws(SharedHeapError) in
        try heap.free(payload, by: owner)
      }
    }

    private func move() {
      guard let payload = pointer() else { return }
      let (from, to) = (owner(), owner())
      let before = entry(payload)
      let allowed = before.map {
        $0.owner == from && !$0.isOrphaned && !$0.isInTransit && $0.borrows == 0
      }
      attempt(allowed ?? false, "move") { () throws(SharedHeapError) in
        try heap.move(payload, from: from, to: to)
      }
      if allowed == true { precondition(entry(payload)?.owner == to) }
    }

    /// The owner's trusted library moves a payload it holds into a call: marks it in
    /// transit, and the thread it goes on.
    private func send() {
      guard let payload = live(), let before = entry(payload), !before.isOrphaned else { return }
      SharedHeap.unsafeMarkInTransit(payload)
      let thread = SharedHeapFuzzing.threads[input.below(3)]
      payload.storeBytes(of: thread, toByteOffset: SharedHeap.sentOnOffset, as: UInt64.self)
    }

    private func adoptable(_ entry: SharedAllocation?, _ tag: UInt64, from sender: DomainOwner)
      -> Bool
    {
      guard let entry else { return false }
      return entry.typeTag == tag && !entry.isOrphaned && entry.isInTransit && entry.borrows == 0
        && entry.owner == sender
    }

    private func adopt() {
      guard let payload = pointer() else { return }
      let (adopter, sender, expected) = (owner(), owner(), tag())
      let allowed = adoptable(entry(payload), expected, from: sender)
      attempt(allowed, "adopt") { () throws(SharedHeapError) in
        try heap.adopt(payload, by: adopter, expectedTag: expected, from: sender)
      }
      if allowed {
        let after = entry(payload)
        precondition(after?.owner == adopter && after?.isInTransit == false)
      }
    }

    /// A deque sent across a call: a new ring listing payloads (sent or not, bogus or
    /// repeated) from a head, or a payload's own bytes taken for a ring.
    private func adoptDeque() {
      let (adopter, sender) = (owner(), owner())
      let slots = input.below(6)
      let ringSize = 16 + 8 * slots
      let ringTag = UInt64(ringSize) << 16 | 8
      var ring: UnsafeMutableRawPointer
      var claimedTag = ringTag
      if input.below(8) == 0, let payload = pointer() {
        ring = payload
        claimedTag = input.bool() ? ringTag : UInt64(input.uint16()) << 16 | 8
      } else {
        guard
          let made = allocate(
            size: ringSize, alignment: 8, owner: sender, typeTag: ringTag, thread: 0)
        else { return }
        ring = made
        // Head and count: mostly in range, else one of the values a check must stop. No
        // number the input chooses is written into the heap (see the header).
        let edges = [-1, Int.min, Int.max, slots + 1, 1 << 32]
        let head = input.below(8) == 0 ? edges[input.below(5)] : input.below(slots + 1)
        let count = input.below(8) == 0 ? edges[input.below(5)] : input.below(slots + 1)
        ring.storeBytes(of: head, toByteOffset: DequeRing.headOffset, as: Int.self)
        ring.storeBytes(of: count, toByteOffset: DequeRing.countOffset, as: Int.self)
        for slot in 0..<slots {
          let element = UInt(bitPattern: pointer(anyNumber: false))
          ring.storeBytes(
            of: element, toByteOffset: DequeRing.elementsOffset + 8 * slot, as: UInt.self)
        }
        if input.below(4) != 0 { SharedHeap.unsafeMarkInTransit(ring) }
      }
      let elements = listed(ring, claimedTag: claimedTag)
      let ringEntry = entry(ring)
      var allowed = adoptable(ringEntry, claimedTag, from: sender) && elements != nil
      if let elements, allowed {
        var seen = Set<UInt>()
        for element in elements {
          let payload = UnsafeMutableRawPointer(bitPattern: element)
          allowed =
            allowed && seen.insert(element).inserted
            && adoptable(payload.flatMap(entry), SharedHeapFuzzing.elementTag, from: sender)
        }
      }
      var count = -1
      attempt(allowed, "adoptDeque") { () throws(SharedHeapError) in
        count = try heap.adoptDeque(
          ring, ringTag: claimedTag, elementTag: SharedHeapFuzzing.elementTag, by: adopter,
          from: sender)
      }
      guard allowed, let elements else { return }
      precondition(count == elements.count)
      dequesAdopted += 1
      for payload in elements.compactMap({ UnsafeMutableRawPointer(bitPattern: $0) }) + [ring] {
        let after = entry(payload)
        precondition(after?.owner == adopter && after?.isInTransit == false, "adopted whole")
      }
    }

    /// The elements a ring lists from its head, or nil if its tag, head or count do not
    /// fit it (read only for a live ring).
    private func listed(_ ring: UnsafeMutableRawPointer, claimedTag: UInt64) -> [UInt]? {
      guard let ringEntry = entry(ring) else { return nil }
      let ringSize = Int(claimedTag >> 16)
      guard ringSize >= DequeRing.elementsOffset, ringSize <= ringEntry.size else { return nil }
      let capacity = (ringSize - DequeRing.elementsOffset) / 8
      let head = ring.load(fromByteOffset: DequeRing.headOffset, as: Int.self)
      let count = ring.load(fromByteOffset: DequeRing.countOffset, as: Int.self)
      guard head >= 0, head < max(capacity, 1), count >= 0, count <= capacity else { return nil }
      return (0..<count).map {
        ring.load(
          fromByteOffset: DequeRing.elementsOffset + 8 * ((head + $0) % capacity), as: UInt.self)
      }
    }

    private func freeUndelivered() {
      guard let payload = pointer() else { return }
      let owner = self.owner()
      let allowed =
        entry(payload).map {
          $0.owner == owner && !$0.isOrphaned && $0.isInTransit && $0.borrows == 0
        }
        ?? false
      attempt(allowed, "freeUndelivered") { () throws(SharedHeapError) in
        try heap.freeUndelivered(payload, by: owner)
      }
    }

    /// A proxy lends a payload for a call: checked (`borrow`) or not (a proxy's own).
    private func lend() {
      guard let payload = live() else { return }
      let checked = input.bool()
      let before = entry(payload)!.borrows
      if checked {
        attempt(true, "borrow") { () throws(SharedHeapError) in try heap.borrow(payload) }
      } else {
        SharedHeap.unsafeAddBorrow(payload)
      }
      precondition(entry(payload)?.borrows == before + 1)
      lent.append((payload, checked))
    }

    /// The call a payload was lent for returns; the last borrow of an orphan frees it.
    private func giveBack() {
      guard !lent.isEmpty else { return }
      let (payload, checked) = lent.remove(at: input.below(lent.count))
      let before = entry(payload)!
      let last = before.borrows == 1 && before.isOrphaned
      if checked {
        var freed = false
        attempt(true, "endBorrow") { () throws(SharedHeapError) in
          freed = try heap.endBorrow(payload)
        }
        precondition(freed == last)
      } else {
        precondition(SharedHeap.unsafeRemoveBorrow(payload) == last)
        if last {
          attempt(true, "freeOrphan") { () throws(SharedHeapError) in try heap.freeOrphan(payload) }
        }
      }
      precondition(last ? entry(payload) == nil : entry(payload)?.borrows == before.borrows - 1)
      if last { orphansFreed += 1 }
    }

    private func freeOrphan() {
      guard let payload = pointer() else { return }
      let allowed = entry(payload).map { $0.isOrphaned && $0.borrows == 0 } ?? false
      attempt(allowed, "freeOrphan") { () throws(SharedHeapError) in try heap.freeOrphan(payload) }
    }

    /// A domain dies: what it owns is freed, or orphaned while borrowed.
    private func reclaim() {
      let owner = self.owner()
      let owned = tracked.filter {
        entry($0.pointer).map { $0.owner == owner && !$0.isOrphaned } ?? false
      }
      let borrowed = owned.filter { entry($0.pointer)!.borrows > 0 }
      let result = heap.reclaim(owner: owner)
      precondition(
        result.freed == owned.count - borrowed.count && result.orphaned == borrowed.count)
      precondition(
        result.bytes == owned.reduce(0) { $0 + $1.size } - borrowed.reduce(0) { $0 + $1.size })
      for payload in owned {
        let after = entry(payload.pointer)
        precondition(
          borrowed.contains { $0.pointer == payload.pointer }
            ? after?.isOrphaned == true : after == nil)
      }
      precondition(heap.accountedBytes(of: owner) == 0 || min(owner.rawValue, 255) == 255)
    }

    /// A thread unwound past a dead domain: what was sent on it and still in transit goes.
    private func reclaimSent() {
      let thread = SharedHeapFuzzing.threads[input.below(3)]
      let owner = input.bool() ? self.owner() : nil
      let expected = tracked.filter {
        guard let entry = entry($0.pointer) else { return false }
        let sentOn = $0.pointer.load(fromByteOffset: SharedHeap.sentOnOffset, as: UInt64.self)
        return entry.isInTransit && !entry.isOrphaned && entry.borrows == 0 && sentOn == thread
          && (owner == nil || entry.owner == owner)
      }
      precondition(heap.reclaimSent(onThread: thread, owner: owner) == expected.count)
      for payload in expected { precondition(entry(payload.pointer) == nil) }
    }

    /// A domain writes into a payload it holds: one value over a stretch of its bytes.
    private func scribble() {
      guard !tracked.isEmpty else { return }
      let payload = tracked[input.below(tracked.count)]
      guard payload.size > 0 else { return }
      let start = input.below(payload.size)
      let count = min(payload.size - start, 1 + input.below(64))
      (payload.pointer + start).initializeMemory(
        as: UInt8.self, repeating: input.byte(), count: count)
    }
  }

  /// Runs one input; traps if the registry breaks a rule. Returns the harness as the
  /// input left it.
  @discardableResult
  static func run(_ data: [UInt8]) -> Harness {
    let harness = Harness(data)
    harness.check()
    while !harness.input.isAtEnd { harness.step() }
    return harness
  }
}
