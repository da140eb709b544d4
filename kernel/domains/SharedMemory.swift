/// The shared heap: the only memory that crosses domains, as RRefs.
///
/// A region of frames managed by `SharedHeap` (module Memory), whose registry records
/// each allocation's owner, borrow count, size and type tag. Domains allocate and free
/// through the calls below (domains/lib/RRef.swift wraps them); the owner of a new
/// allocation is always the calling domain. On the call path, the trusted library and
/// generated code write the owner and borrow fields of the header directly (a moved
/// RRef is adopted by its receiver, a lent one counted by its lender), without calling
/// the kernel. When a domain dies, `reclaim` frees what it
/// owns and nobody borrows (DESIGN.md, invariant 4).
import Memory

enum SharedMemory {
  /// 4 MiB of frames, enough for the tests and the block driver's buffers.
  static let frameCount = 1024
  nonisolated(unsafe) private static var heap = SharedHeap()
  /// Where the region lies, for the adoption check (swiftletRRefAdopt).
  nonisolated(unsafe) static var regionBase: UInt = 0
  nonisolated(unsafe) static var regionSize: UInt = 0

  static func setUp() {
    guard let frames = Frames.allocateContiguous(count: frameCount) else {
      Log.warning("shared heap: no memory; RRefs cannot be allocated")
      return
    }
    let base = UnsafeMutableRawPointer(bitPattern: UInt(frames.address))!
    _ = heap.addRegion(base: base, size: frameCount * Int(Paging.pageSize))
    regionBase = UInt(bitPattern: base)
    regionSize = UInt(frameCount) * UInt(Paging.pageSize)
  }

  static var caller: DomainOwner { owner(DomainCall.currentDomain) }

  /// How the registry names `domain` as an owner.
  static func owner(_ domain: DomainID) -> DomainOwner { DomainOwner(UInt32(domain.rawValue)) }

  static func statistics(for owner: DomainOwner) -> SharedOwnerStatistics {
    withInterruptsDisabled { heap.statistics(for: owner) }
  }

  static var totals: SharedOwnerStatistics { withInterruptsDisabled { heap.totals } }

  static func entry(_ payload: UnsafeMutableRawPointer) -> SharedAllocation? {
    withInterruptsDisabled { try? heap.entry(payload) }
  }

  /// A domain died: what it owns and nobody borrows is freed now, the rest at its last
  /// borrow's end.
  @discardableResult
  static func reclaim(_ domain: DomainID) -> (freed: Int, bytes: Int, orphaned: Int) {
    withInterruptsDisabled { heap.reclaim(owner: owner(domain)) }
  }

  /// Runs a registry operation; a refusal is the caller's bug, reported with `what`.
  fileprivate static func checked(
    _ what: StaticString, _ payload: UnsafeMutableRawPointer?,
    _ body: (inout SharedHeap, UnsafeMutableRawPointer) throws(SharedHeapError) -> Void
  ) {
    guard let payload else { return }
    let failure = withInterruptsDisabled { () -> SharedHeapError? in
      do throws(SharedHeapError) {
        try body(&heap, payload)
        return nil
      } catch {
        return error
      }
    }
    if let failure {
      Log.error(
        "shared heap: \(what) by '\(DomainManager.current?.name ?? "kernel")': \(failure.message) (\(hex: failure.address))"
      )
    }
  }

  fileprivate static func allocate(_ size: Int, _ alignment: Int, _ typeTag: UInt64)
    -> UnsafeMutableRawPointer?
  {
    withInterruptsDisabled {
      heap.allocate(
        size: size, alignment: alignment, owner: caller, typeTag: typeTag, dropHandler: 0)
    }
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

/// A moved RRef's receiver takes it (domains/lib/RRef.swift, RRefHeader.adopt): 0 if the
/// calling domain now owns `payload`, non-zero if refused. `fromSlot` is -1 for a callee
/// adopting an argument (the sender must be the caller of the innermost call into it),
/// or the export slot a caller just called, adopting its result (the sender must be the
/// domain behind the slot). The payload must be a live allocation (in the region, its
/// magic right) tagged `typeTag`, in transit from that sender, and lent to nobody.
///
/// A minimal version, so that the generated code can be built and booted: the registry's
/// own (kernel/mem) replaces it.
@_cdecl("swiftlet_rref_adopt")
func swiftletRRefAdopt(_ payload: UnsafeMutableRawPointer?, _ typeTag: UInt64, _ fromSlot: Int64)
  -> Int32
{
  guard let payload else { return 1 }
  let receiver = UInt64(DomainCall.currentDomain.rawValue)
  let sender: UInt64
  if fromSlot < 0 {
    let continuation = DomainCall.currentContinuation
    guard continuation != 0 else { return 1 }
    sender = UnsafePointer<UInt64>(bitPattern: UInt(continuation))!.pointee
  } else {
    guard fromSlot < DomainCall.exportSlots else { return 1 }
    sender = UInt64(DomainCall.exports[Int(fromSlot)].domain)
  }
  let address = UInt(bitPattern: payload)
  let header = UInt64(address &- UInt(SharedHeap.headerSize))
  guard address &- SharedMemory.regionBase &- UInt(SharedHeap.headerSize) < SharedMemory.regionSize,
    address % 16 == 0
  else { return 1 }
  let inTransit = UInt64(2) << 32
  return withInterruptsDisabled {
    guard
      payload.load(fromByteOffset: SharedHeap.magicOffset, as: UInt64.self)
        == SharedHeap.headerMagic ^ header,
      payload.load(fromByteOffset: SharedHeap.typeTagOffset, as: UInt64.self) == typeTag,
      payload.load(fromByteOffset: SharedHeap.ownerOffset, as: UInt64.self) == sender | inTransit,
      payload.load(fromByteOffset: SharedHeap.borrowsOffset, as: UInt32.self) == 0
    else { return 1 }
    payload.storeBytes(of: receiver, toByteOffset: SharedHeap.ownerOffset, as: UInt64.self)
    return 0
  }
}
