/// Tests of moves across calls in the shared heap: adoption is checked against the registry
/// (every refusal), headers cannot be forged from payload bytes, what never arrived goes
/// back to its owner, and a crash on either side of a move neither leaks nor frees twice.
import Memory
import Testing

struct SharedHeapAdoptionTests {
  static let alice = DomainOwner(1)
  static let bob = DomainOwner(2)
  static let carol = DomainOwner(3)
  static let tag: UInt64 = 0x40 << 16 | 16

  /// A payload of `size` bytes that `owner` has just moved into a call.
  static func sent(
    _ heap: inout SharedHeap, size: Int = 64, by owner: DomainOwner
  ) -> UnsafeMutableRawPointer {
    let payload = heap.allocate(
      size: size, alignment: 16, owner: owner, typeTag: tag, dropHandler: 0)!
    SharedHeap.unsafeMarkInTransit(payload)
    return payload
  }

  @Test func theReceiverAdoptsOnceAndIsChargedForIt() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let payload = Self.sent(&heap, by: Self.alice)
      let charge = heap.accountedBytes(of: Self.alice)
      #expect(charge == 64 + 64 + 16)
      #expect(entryOf(heap, payload)?.isInTransit == true)
      // In transit, the sender can no longer free it the ordinary way.
      #expect(
        sharedError { try heap.free(payload, by: Self.alice) }
          == .notOwner(address: UInt(bitPattern: payload), owner: 1))

      let adopted = sharedError {
        try heap.adopt(payload, by: Self.bob, expectedTag: Self.tag, from: Self.alice)
      }
      #expect(adopted == nil)
      #expect(
        entryOf(heap, payload)
          == SharedAllocation(
            owner: Self.bob, borrows: 0, size: 64, typeTag: Self.tag, dropHandler: 0))
      #expect(heap.accountedBytes(of: Self.alice) == 0)
      #expect(heap.accountedBytes(of: Self.bob) == charge)
      expectConsistent(heap)

      // Only once: not by the receiver again, nor by anyone claiming either side sent it.
      let address = UInt(bitPattern: payload)
      for (adopter, sender) in [(Self.bob, Self.alice), (Self.carol, Self.bob)] {
        #expect(
          sharedError {
            try heap.adopt(payload, by: adopter, expectedTag: Self.tag, from: sender)
          } == .notInTransit(address: address))
      }
      #expect(entryOf(heap, payload)?.owner == Self.bob)
      #expect(sharedError { try heap.free(payload, by: Self.bob) } == nil)
      #expect(heap.accountedBytes(of: Self.bob) == 0)
      expectConsistent(heap)
    }
  }

  @Test func everyRefusalNamesItsProblemAndChangesNothing() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let moved = Self.sent(&heap, by: Self.alice)
      let kept = heap.allocate(
        size: 64, alignment: 16, owner: Self.alice, typeTag: Self.tag, dropHandler: 0)!
      let lent = heap.allocate(
        size: 64, alignment: 16, owner: Self.alice, typeTag: Self.tag, dropHandler: 0)!
      #expect(sharedError { try heap.borrow(lent) } == nil)
      let lentAndMoved = Self.sent(&heap, by: Self.alice)
      #expect(sharedError { try heap.borrow(lentAndMoved) } == nil)
      let orphan = Self.sent(&heap, by: Self.carol)
      #expect(sharedError { try heap.borrow(orphan) } == nil)
      #expect(heap.reclaim(owner: Self.carol).orphaned == 1)
      // Freed last, so no later allocation takes its place.
      let freed = Self.sent(&heap, by: Self.alice)
      #expect(sharedError { try heap.freeUndelivered(freed, by: Self.alice) } == nil)

      let before = heap.accountedBytes(of: Self.alice)
      let entries = [moved, kept, lent, lentAndMoved].map { entryOf(heap, $0) }
      func refusal(
        _ payload: UnsafeMutableRawPointer, tag: UInt64 = Self.tag, from: DomainOwner = Self.alice
      ) -> SharedHeapError? {
        sharedError { try heap.adopt(payload, by: Self.bob, expectedTag: tag, from: from) }
      }
      func address(_ payload: UnsafeMutableRawPointer) -> UInt { UInt(bitPattern: payload) }
      #expect(refusal(freed) == .notShared(address: address(freed)))
      #expect(refusal(moved + 16) == .notShared(address: address(moved + 16)))
      #expect(
        refusal(moved, tag: Self.tag + 1) == .wrongType(address: address(moved), tag: Self.tag))
      #expect(refusal(kept) == .notInTransit(address: address(kept)))
      // A lent payload is never adoptable, whether or not it also looks moved.
      #expect(refusal(lent) == .notInTransit(address: address(lent)))
      #expect(refusal(lentAndMoved) == .borrowed(address: address(lentAndMoved), borrows: 1))
      #expect(refusal(moved, from: Self.carol) == .notFromSender(address: address(moved), owner: 1))
      #expect(refusal(moved, from: Self.bob) == .notFromSender(address: address(moved), owner: 1))
      #expect(refusal(orphan, from: Self.carol) == .orphaned(address: address(orphan), owner: 3))

      #expect([moved, kept, lent, lentAndMoved].map { entryOf(heap, $0) } == entries)
      #expect(heap.accountedBytes(of: Self.alice) == before)
      #expect(heap.accountedBytes(of: Self.bob) == 0)
      expectConsistent(heap)
    }
  }

  /// A domain knows where its payloads are and what they hold: it can lay out, inside one,
  /// bytes shaped like a header in transit to it. Without the heap's secret, they are not one.
  @Test func headersCannotBeForgedInPayloadBytes() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let carrier = heap.allocate(
        size: 4096, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)!
      let forged = carrier + 1024
      let header = UInt(bitPattern: forged) - 64
      // The last design's public constant, the right formula with other secrets, and the
      // real magic of the carrier's own header (as a copy would have it).
      let carrierMagic = carrier.load(fromByteOffset: SharedHeap.magicOffset, as: UInt64.self)
      let guesses: [UInt64] = [
        0x5348_4152_4544_4844 ^ UInt64(header),
        SharedHeap.headerMagic(at: header, secret: 0),
        SharedHeap.headerMagic(at: header, secret: testSecret ^ 1),
        carrierMagic,
      ]
      #expect(!guesses.contains(SharedHeap.headerMagic(at: header, secret: testSecret)))
      for magic in guesses {
        forged.storeBytes(of: magic, toByteOffset: SharedHeap.magicOffset, as: UInt64.self)
        forged.storeBytes(of: 64, toByteOffset: SharedHeap.sizeOffset, as: UInt64.self)
        forged.storeBytes(of: Self.tag, toByteOffset: SharedHeap.typeTagOffset, as: UInt64.self)
        forged.storeBytes(
          of: Self.alice.rawValue, toByteOffset: SharedHeap.ownerOffset, as: UInt32.self)
        forged.storeBytes(
          of: SharedHeap.inTransitFlag, toByteOffset: SharedHeap.stateOffset, as: UInt32.self)
        forged.storeBytes(of: 0, toByteOffset: SharedHeap.borrowsOffset, as: UInt32.self)
        forged.storeBytes(of: 0, toByteOffset: SharedHeap.paddingOffset, as: UInt32.self)
        expectNotShared(&heap, forged)
      }
      // Magic words differ from address to address and from secret to secret.
      let magics = Set(
        [0, 16, 4096].flatMap { offset in
          [testSecret, testSecret &+ 1].map {
            SharedHeap.headerMagic(at: header + UInt(offset), secret: $0)
          }
        })
      #expect(magics.count == 6)
      #expect(sharedError { try heap.free(carrier, by: Self.alice) } == nil)
      expectConsistent(heap)
    }
  }

  @Test func whatNeverArrivedGoesBackToItsSenderOnly() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let undelivered = Self.sent(&heap, by: Self.alice)
      let adopted = Self.sent(&heap, by: Self.alice)
      let kept = heap.allocate(
        size: 64, alignment: 16, owner: Self.alice, typeTag: Self.tag, dropHandler: 0)!
      #expect(
        sharedError {
          try heap.adopt(adopted, by: Self.bob, expectedTag: Self.tag, from: Self.alice)
        } == nil)
      func address(_ payload: UnsafeMutableRawPointer) -> UInt { UInt(bitPattern: payload) }

      #expect(
        sharedError { try heap.freeUndelivered(undelivered, by: Self.bob) }
          == .notOwner(address: address(undelivered), owner: 1))
      // Adopted already: the receiver's now, and the sender's request changes nothing.
      #expect(
        sharedError { try heap.freeUndelivered(adopted, by: Self.alice) }
          == .notOwner(address: address(adopted), owner: 2))
      #expect(
        sharedError { try heap.freeUndelivered(kept, by: Self.alice) }
          == .notInTransit(address: address(kept)))
      #expect(sharedError { try heap.freeUndelivered(undelivered, by: Self.alice) } == nil)
      #expect(entryOf(heap, undelivered) == nil)
      #expect(entryOf(heap, adopted)?.owner == Self.bob)
      #expect(entryOf(heap, kept)?.owner == Self.alice)
      // Asked again after it is gone: refused, not freed twice.
      #expect(
        sharedError { try heap.freeUndelivered(undelivered, by: Self.alice) }
          == .notShared(address: address(undelivered)))
      expectConsistent(heap)
    }
  }

  /// Each way a crash can meet a move: the sender dies before the receiver adopts, the
  /// receiver dies after adopting, the receiver dies before adopting, and a moved payload
  /// is borrowed when its sender dies. Afterwards nothing is left and the backing heap
  /// agrees, so nothing leaked and nothing was freed twice.
  @Test func crashesOnEitherSideOfAMoveLeakNothing() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      func address(_ payload: UnsafeMutableRawPointer) -> UInt { UInt(bitPattern: payload) }
      // The sender dies first: what it sent is freed with it, and the late adoption is refused.
      let fromDeadSender = Self.sent(&heap, by: Self.alice)
      #expect(heap.reclaim(owner: Self.alice).freed == 1)
      #expect(
        sharedError {
          try heap.adopt(fromDeadSender, by: Self.bob, expectedTag: Self.tag, from: Self.alice)
        } == .notShared(address: address(fromDeadSender)))

      // The receiver adopted, then died: freed with it; the sender's request finds nothing.
      let adoptedByTheDead = Self.sent(&heap, by: Self.carol)
      #expect(
        sharedError {
          try heap.adopt(adoptedByTheDead, by: Self.bob, expectedTag: Self.tag, from: Self.carol)
        } == nil)
      #expect(heap.reclaim(owner: Self.bob).freed == 1)
      #expect(
        sharedError { try heap.freeUndelivered(adoptedByTheDead, by: Self.carol) }
          == .notShared(address: address(adoptedByTheDead)))

      // The receiver died before adopting: still the sender's, which takes it back.
      let neverAdopted = Self.sent(&heap, by: Self.carol)
      #expect(heap.reclaim(owner: Self.bob).freed == 0)
      #expect(entryOf(heap, neverAdopted)?.owner == Self.carol)
      #expect(sharedError { try heap.freeUndelivered(neverAdopted, by: Self.carol) } == nil)

      // Borrowed while in transit when the sender dies: an orphan, freed at its last borrow.
      let borrowed = Self.sent(&heap, by: Self.alice)
      #expect(sharedError { try heap.borrow(borrowed) } == nil)
      let reclaimed = heap.reclaim(owner: Self.alice)
      #expect(reclaimed.freed == 0 && reclaimed.orphaned == 1)
      #expect(
        sharedError {
          try heap.adopt(borrowed, by: Self.bob, expectedTag: Self.tag, from: Self.alice)
        } == .orphaned(address: address(borrowed), owner: 1))
      #expect(endBorrowResult(&heap, borrowed) == .success(true))

      let totals = heap.totals
      let backing = heap.heapStatistics
      #expect(totals == SharedOwnerStatistics())
      #expect(backing.bytesInUse == 0 && backing.liveAllocations == 0)
      #expect([Self.alice, Self.bob, Self.carol].allSatisfy { heap.accountedBytes(of: $0) == 0 })
      expectConsistent(heap)
    }
  }

  /// A thread unwound past a dead domain: what was sent on that thread and is still in
  /// transit is freed; what another thread sent, what is not in transit and what is
  /// borrowed are left alone.
  @Test func whatWasSentOnAnUnwoundThreadIsFreed() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      func mark(_ payload: UnsafeMutableRawPointer, thread: UInt64) {
        payload.storeBytes(of: thread, toByteOffset: SharedHeap.sentOnOffset, as: UInt64.self)
      }
      let lost = Self.sent(&heap, by: Self.alice)
      mark(lost, thread: 0x1000)
      let elsewhere = Self.sent(&heap, by: Self.alice)
      mark(elsewhere, thread: 0x2000)
      let kept = heap.allocate(
        size: 64, alignment: 16, owner: Self.bob, typeTag: Self.tag, dropHandler: 0x1000)!
      #expect(heap.reclaimSent(onThread: 0x1000) == 1)
      #expect(entryOf(heap, lost) == nil)
      #expect(entryOf(heap, elsewhere)?.isInTransit == true)
      #expect(entryOf(heap, kept)?.owner == Self.bob)
      #expect(heap.accountedBytes(of: Self.alice) == 64 + 64 + 16)
      expectConsistent(heap)
    }
  }
}
