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

  static func setUp() {
    guard let frames = Frames.allocateContiguous(count: frameCount) else {
      Log.warning("shared heap: no memory; RRefs cannot be allocated")
      return
    }
    let base = UnsafeMutableRawPointer(bitPattern: UInt(frames.address))!
    _ = heap.addRegion(base: base, size: frameCount * Int(Paging.pageSize))
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
