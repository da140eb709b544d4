/// The shared heap: the only memory that crosses domains, as RRefs.
///
/// A region of frames managed by `SharedHeap` (module Memory), whose registry records
/// each allocation's owner, borrow count, size and type tag, and what each owner holds.
/// Domains allocate and free through the calls below (domains/lib/RRef.swift wraps them);
/// the owner of a new allocation is always the calling domain, within its `sharedHeapKiB`
/// quota, and no domain takes the last `kernelReserve` bytes. A move across a call is
/// checked here: the sender's trusted library marks the RRef in transit, and the receiver
/// adopts it through `swiftlet_rref_adopt`, which the registry refuses unless the RRef
/// came from the other side of that call. Lending needs no kernel call (the lender's
/// library counts the borrow in the header). When a domain dies, `reclaim` frees what it
/// owns and nobody borrows (DESIGN.md, invariant 4).
import Memory

enum SharedMemory {
  /// 4 MiB of frames, enough for the tests and the block driver's buffers.
  static let frameCount = 1024
  /// What only the kernel's own allocations may take: room for the RRefs the kernel moves
  /// into domains (a batch of 32 block requests of 4 KiB is about 140 KiB) however full
  /// the domains have made the rest. An eighth of the heap: the other 3.5 MiB hold three
  /// domains at the default quota, and the quota, not the reserve, is what keeps one
  /// domain from taking the others' share.
  static let kernelReserve = 512 * 1024
  /// Made at its first use, in `setUp`, when the CPU's random generator can be asked.
  nonisolated(unsafe) fileprivate static var heap = SharedHeap(secret: drawSecret())

  static func setUp() {
    guard let frames = Frames.allocateContiguous(count: frameCount) else {
      Log.warning("shared heap: no memory; RRefs cannot be allocated")
      return
    }
    heap.kernelReserve = kernelReserve
    let base = UnsafeMutableRawPointer(bitPattern: UInt(frames.address))!
    _ = heap.addRegion(base: base, size: frameCount * Int(Paging.pageSize))
  }

  /// The secret the headers' magic mixes in (SharedHeapHeader.swift says why). From the
  /// CPU's random generator where there is one (QEMU's `-cpu max` has it); else from the
  /// TSC, which under `-icount` repeats from boot to boot, so a domain built for this
  /// kernel could guess it. Not from `arc4random_buf`: domains may call that, and its
  /// xorshift state can be worked out, backwards too, from what it returns.
  private static func drawSecret() -> UInt64 {
    var secret = CPU.timestamp &* 0x9E37_79B9_7F4A_7C15
    if let random = CPU.hardwareRandom { secret ^= random }
    if let random = CPU.hardwareRandom { secret = secret &* 0xBF58_476D_1CE4_E5B9 ^ random }
    return secret
  }

  static var caller: DomainOwner { owner(DomainCall.currentDomain) }

  /// How the registry names `domain` as an owner.
  static func owner(_ domain: DomainID) -> DomainOwner { DomainOwner(UInt32(domain.rawValue)) }

  static func statistics(for owner: DomainOwner) -> SharedOwnerStatistics {
    withInterruptsDisabled { heap.statistics(for: owner) }
  }

  /// What `domain` is charged for: whole blocks, headers included; its quota limits this.
  static func accountedBytes(of domain: DomainID) -> Int {
    withInterruptsDisabled { heap.accountedBytes(of: owner(domain)) }
  }

  static var totals: SharedOwnerStatistics { withInterruptsDisabled { heap.totals } }

  /// The backing heap's counters: capacity and bytes in use, headers included.
  static var heapStatistics: HeapStatistics { withInterruptsDisabled { heap.heapStatistics } }

  static func entry(_ payload: UnsafeMutableRawPointer) -> SharedAllocation? {
    withInterruptsDisabled { try? heap.entry(payload) }
  }

  /// A domain died: what it owns and nobody borrows is freed now, the rest at its last
  /// borrow's end; what it had moved into a call and was not adopted yet is freed too.
  @discardableResult
  static func reclaim(_ domain: DomainID) -> (freed: Int, bytes: Int, orphaned: Int) {
    withInterruptsDisabled { heap.reclaim(owner: owner(domain)) }
  }

  /// The running thread unwound past a dead domain: what it had on its way in transit is
  /// nobody's to adopt any more (SharedHeap.reclaimSent).
  static func reclaimSentOnRunningThread(owner: DomainOwner? = nil) {
    let thread = UInt64(UInt(bitPattern: Scheduler.currentControl!))
    withInterruptsDisabled { _ = heap.reclaimSent(onThread: thread, owner: owner) }
  }

  /// Runs a registry operation and reports a refusal with `what`; whether it was done.
  @discardableResult
  fileprivate static func checked(
    _ what: StaticString, _ payload: UnsafeMutableRawPointer?,
    _ body: (inout SharedHeap, UnsafeMutableRawPointer) throws(SharedHeapError) -> Void
  ) -> Bool {
    guard let payload else { return false }
    guard let failure = attempt(payload, body) else { return true }
    report(what, failure)
    return false
  }

  /// Logs a refused registry operation by the current domain. Out of line: refusals are
  /// rare, and the line's buffer would otherwise cost every call its stack and setup.
  @inline(never)
  fileprivate static func report(_ what: StaticString, _ failure: SharedHeapError) {
    Log.error(
      "shared heap: \(what) by '\(DomainManager.current?.name ?? "kernel")' refused: \(failure.message) (\(hex: failure.address))"
    )
  }

  /// Runs a registry operation; the refusal, if there was one.
  fileprivate static func attempt(
    _ payload: UnsafeMutableRawPointer,
    _ body: (inout SharedHeap, UnsafeMutableRawPointer) throws(SharedHeapError) -> Void
  ) -> SharedHeapError? {
    withInterruptsDisabled { () -> SharedHeapError? in
      do throws(SharedHeapError) {
        try body(&heap, payload)
        return nil
      } catch {
        return error
      }
    }
  }

  /// A new allocation for the calling domain, within its quota; the kernel has none.
  fileprivate static func allocate(_ size: Int, _ alignment: Int, _ typeTag: UInt64)
    -> UnsafeMutableRawPointer?
  {
    let domain = DomainManager.current
    let limit = domain.map { $0.manifest.sharedHeapKiB * 1024 } ?? .max
    let owner = caller
    let (payload, held) = withInterruptsDisabled {
      (
        heap.allocate(
          size: size, alignment: alignment, owner: owner, typeTag: typeTag, dropHandler: 0,
          limit: limit),
        heap.accountedBytes(of: owner)
      )
    }
    if payload == nil, let domain, size >= 0, held > limit - size - SharedHeap.headerSize {
      domain.quotaRefused(
        "shared heap: \(size) bytes refused: it holds \(held / 1024) KiB of its \(domain.manifest.sharedHeapKiB) KiB"
      )
    }
    return payload
  }

  /// Logs an adoption refused before the registry was asked.
  @inline(never)
  fileprivate static func refuseAdoption(fromSlot: Int64) {
    Log.error(
      "shared heap: adoption by '\(DomainManager.current?.name ?? "kernel")' refused: no payload, or no call it could come from (slot \(fromSlot))"
    )
  }

  /// The other side of the call an RRef arriving in the current domain must come from:
  /// the caller of the call the domain is serving (`fromSlot` -1, an argument), or the
  /// domain behind `fromSlot` (the result of a call the domain made through it). Nil when
  /// there is no such side: no call being served, or no such slot.
  fileprivate static func sender(fromSlot: Int64) -> DomainID? {
    if fromSlot == -1 {
      return DomainCall.currentContinuation == 0 ? nil : DomainCall.innermostCaller
    }
    guard fromSlot >= 0 && fromSlot < Int64(DomainCall.exportSlots) else { return nil }
    return DomainID(rawValue: Int(DomainCall.exports[Int(fromSlot)].domain))
  }
}

// MARK: - The calls (boot/sysinterface.asm exports them)

@_cdecl("swiftlet_rref_alloc")
func swiftletRRefAllocate(_ size: Int, _ alignment: Int, _ typeTag: UInt64)
  -> UnsafeMutableRawPointer?
{
  SharedMemory.allocate(size, alignment, typeTag)
}

@_cdecl("swiftlet_rref_free")
func swiftletRRefFree(_ payload: UnsafeMutableRawPointer?) {
  let owner = SharedMemory.caller
  SharedMemory.checked("free", payload) { heap, payload throws(SharedHeapError) in
    try heap.free(payload, by: owner)
  }
}

/// The last borrow of an orphan (its owner died while it was lent) ended: free it.
@_cdecl("swiftlet_rref_free_orphan")
func swiftletRRefFreeOrphan(_ payload: UnsafeMutableRawPointer?) {
  SharedMemory.checked("free of an orphan", payload) { heap, payload throws(SharedHeapError) in
    try heap.freeOrphan(payload)
  }
}

/// The current domain takes ownership of an RRef moved to it: an argument of the call it
/// serves (`fromSlot` -1) or the result of the call it made through export slot `fromSlot`.
/// 0 if adopted; otherwise 1, nothing changes, and the refusal is logged with its reason.
@_cdecl("swiftlet_rref_adopt")
func swiftletRRefAdopt(_ payload: UnsafeMutableRawPointer?, _ typeTag: UInt64, _ fromSlot: Int64)
  -> Int32
{
  // On every move across a call: no closure, no log line's buffer on this path.
  guard let payload, let sender = SharedMemory.sender(fromSlot: fromSlot) else {
    SharedMemory.refuseAdoption(fromSlot: fromSlot)
    return 1
  }
  let adopter = SharedMemory.caller
  let from = SharedMemory.owner(sender)
  let refusal = withInterruptsDisabled { () -> SharedHeapError? in
    do throws(SharedHeapError) {
      try SharedMemory.heap.adopt(payload, by: adopter, expectedTag: typeTag, from: from)
      return nil
    } catch {
      return error
    }
  }
  guard let refusal else { return 0 }
  SharedMemory.report("adoption", refusal)
  return 1
}

/// The current domain takes ownership of a deque moved to it (see `swiftlet_rref_adopt`)
/// with every element in it, all or none, in one kernel call: SharedHeap.adoptDeque.
/// The element count if adopted; otherwise -1, nothing changes, and the refusal is
/// logged with its reason.
@_cdecl("swiftlet_rref_adopt_deque")
func swiftletRRefAdoptDeque(
  _ ring: UnsafeMutableRawPointer?, _ ringTag: UInt64, _ elementTag: UInt64, _ fromSlot: Int64
) -> Int64 {
  guard let ring, let sender = SharedMemory.sender(fromSlot: fromSlot) else {
    SharedMemory.refuseAdoption(fromSlot: fromSlot)
    return -1
  }
  let adopter = SharedMemory.caller
  let from = SharedMemory.owner(sender)
  var refusal: SharedHeapError?
  let count = withInterruptsDisabled { () -> Int in
    do throws(SharedHeapError) {
      return try SharedMemory.heap.adoptDeque(
        ring, ringTag: ringTag, elementTag: elementTag, by: adopter, from: from)
    } catch {
      refusal = error
      return -1
    }
  }
  if let refusal { SharedMemory.report("adoption of a deque", refusal) }
  return Int64(count)
}

/// The current domain moved an RRef into a call that failed: free it if the other side
/// never adopted it (it is still this domain's, in transit). 0 if it was freed, 1 if not:
/// adopted before the failure, it is the other side's, or gone with it. Not an error, so
/// nothing is logged.
@_cdecl("swiftlet_rref_free_undelivered")
func swiftletRRefFreeUndelivered(_ payload: UnsafeMutableRawPointer?) -> Int32 {
  guard let payload else { return 1 }
  let owner = SharedMemory.caller
  let refusal = SharedMemory.attempt(payload) { heap, payload throws(SharedHeapError) in
    try heap.freeUndelivered(payload, by: owner)
  }
  return refusal == nil ? 0 : 1
}

/// boot/domaincall.asm, unwinding past a dead domain (interrupts disabled).
@_cdecl("domain_unwound_sweep")
func domainUnwoundSweep() { SharedMemory.reclaimSentOnRunningThread() }

/// A call failed after the calling domain moved a deque into it, and the deque's ring is
/// gone (adopted by a callee that died before adopting every element): the elements the
/// calling domain still holds in transit, sent on this thread, are freed.
@_cdecl("swiftlet_rref_free_sent")
func swiftletRRefFreeSent() { SharedMemory.reclaimSentOnRunningThread(owner: SharedMemory.caller) }

/// Where the running thread's control block address is kept (boot/traps.asm,
/// running_stack): the trusted library marks what it sends with it (RRef.swift).
@_cdecl("swiftlet_thread_word")
func swiftletThreadWord() -> UnsafePointer<UInt64> { UnsafePointer(DomainCall.runningStack) }
