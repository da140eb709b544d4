/// Tests of what the shared heap charges its owners: the limit `allocate` is given, the
/// kernel's reserve, moves, orphans, and owners beyond the accounts table.
import Memory
import Testing

struct SharedHeapQuotaTests {
  static let alice = DomainOwner(1)
  static let bob = DomainOwner(2)
  /// 100 bytes, a 64-byte header and a 16-byte block header, rounded: what each costs.
  static let charge = 192

  static func fill(
    _ heap: inout SharedHeap, owner: DomainOwner, size: Int = 100, limit: Int
  ) -> [UnsafeMutableRawPointer] {
    var payloads: [UnsafeMutableRawPointer] = []
    while let payload = heap.allocate(
      size: size, alignment: 16, owner: owner, typeTag: 0, dropHandler: 0, limit: limit)
    {
      payloads.append(payload)
    }
    return payloads
  }

  @Test func anOwnerStopsAtItsLimitAndOthersGoOn() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let limit = 4096
      var alices = Self.fill(&heap, owner: Self.alice, limit: limit)
      #expect(alices.count == limit / Self.charge)
      #expect(heap.accountedBytes(of: Self.alice) == alices.count * Self.charge)
      let bobs = Self.fill(&heap, owner: Self.bob, limit: limit)
      #expect(bobs.count == alices.count)
      // Freeing makes room again, for exactly what was freed.
      #expect(sharedError { try heap.free(alices.removeLast(), by: Self.alice) } == nil)
      #expect(Self.fill(&heap, owner: Self.alice, limit: limit).count == 1)
      expectConsistent(heap)
    }
  }

  /// Empty payloads still cost their headers, so they cannot be allocated without end.
  @Test func emptyPayloadsAreCharged() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let payloads = Self.fill(&heap, owner: Self.alice, size: 0, limit: 1024)
      #expect(payloads.count == 1024 / 80)
      #expect(heap.accountedBytes(of: Self.alice) == payloads.count * 80)
      expectConsistent(heap)
    }
  }

  @Test func domainsLeaveTheKernelsReserve() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, bytes in
      heap.kernelReserve = 16 * 1024
      let alices = Self.fill(&heap, owner: Self.alice, limit: .max)
      let backing = heap.heapStatistics
      #expect(!alices.isEmpty && backing.bytesInUse <= bytes - 16 * 1024)
      #expect(backing.bytesInUse + Self.charge > bytes - 16 * 1024)
      #expect(Self.fill(&heap, owner: Self.bob, limit: .max).isEmpty)
      // The kernel still allocates, into the reserve and to the end of the heap.
      let kernels = Self.fill(&heap, owner: .kernel, limit: .max)
      #expect(kernels.count >= 16 * 1024 / Self.charge - 1)
      expectConsistent(heap)
    }
  }

  /// Adoption is not refused over the limit (a move cannot be undone half way); the owner
  /// then cannot allocate until it is back under.
  @Test func adoptedPayloadsCountAgainstTheNewOwner() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let big = heap.allocate(
        size: 2000, alignment: 16, owner: Self.bob, typeTag: 7, dropHandler: 0)!
      SharedHeap.unsafeMarkInTransit(big)
      let bigCharge = heap.accountedBytes(of: Self.bob)
      #expect(
        sharedError { try heap.adopt(big, by: Self.alice, expectedTag: 7, from: Self.bob) } == nil)
      #expect(heap.accountedBytes(of: Self.alice) == bigCharge)
      #expect(heap.accountedBytes(of: Self.bob) == 0)
      #expect(Self.fill(&heap, owner: Self.alice, limit: 1024).isEmpty)
      #expect(sharedError { try heap.free(big, by: Self.alice) } == nil)
      #expect(Self.fill(&heap, owner: Self.alice, limit: 1024).count == 1024 / Self.charge)
      expectConsistent(heap)
    }
  }

  /// A dead owner's orphans are charged to nobody: a domain restarted under its id starts
  /// with its whole limit.
  @Test func orphansAreNobodysCharge() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let limit = 2048
      let alices = Self.fill(&heap, owner: Self.alice, limit: limit)
      for payload in alices { #expect(sharedError { try heap.borrow(payload) } == nil) }
      #expect(heap.reclaim(owner: Self.alice).orphaned == alices.count)
      #expect(heap.accountedBytes(of: Self.alice) == 0)
      #expect(Self.fill(&heap, owner: Self.alice, limit: limit).count == alices.count)
      for payload in alices { #expect(endBorrowResult(&heap, payload) == .success(true)) }
      #expect(heap.accountedBytes(of: Self.alice) == alices.count * Self.charge)
      expectConsistent(heap)
    }
  }

  /// Owners the table has no row for share its last one: limited together, never less.
  @Test func ownersBeyondTheTableShareAnAccount() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let first = DomainOwner(300)
      let second = DomainOwner(4000)
      let firsts = Self.fill(&heap, owner: first, limit: 2048)
      #expect(firsts.count == 2048 / Self.charge)
      #expect(Self.fill(&heap, owner: second, limit: 2048).isEmpty)
      #expect(heap.accountedBytes(of: second) == heap.accountedBytes(of: first))
      #expect(heap.reclaim(owner: first).freed == firsts.count)
      #expect(heap.accountedBytes(of: second) == 0)
      expectConsistent(heap)
    }
  }
}
