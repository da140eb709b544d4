/// Tests of adopting a whole deque in one step (SharedHeap.adoptDeque): the ring and every
/// element it lists change owner together, or nothing does.
import Memory
import Testing

struct SharedHeapDequeAdoptionTests {
  static let alice = DomainOwner(1)
  static let bob = DomainOwner(2)
  static let elementTag: UInt64 = 0x40 << 16 | 16
  static let slots = 4
  static let ringTag = UInt64(DequeRing.elementsOffset + 8 * slots) << 16 | 8

  /// A ring of `slots` slots listing `elements` from slot `head`, moved by `owner`.
  static func sentRing(
    _ heap: inout SharedHeap, _ elements: [UnsafeMutableRawPointer], head: Int = 0,
    count: Int? = nil, by owner: DomainOwner
  ) -> UnsafeMutableRawPointer {
    let ring = heap.allocate(
      size: Int(ringTag >> 16), alignment: 8, owner: owner, typeTag: ringTag, dropHandler: 0)!
    ring.storeBytes(of: head, toByteOffset: DequeRing.headOffset, as: Int.self)
    ring.storeBytes(of: count ?? elements.count, toByteOffset: DequeRing.countOffset, as: Int.self)
    for (index, element) in elements.enumerated() {
      ring.storeBytes(
        of: UInt(bitPattern: element),
        toByteOffset: DequeRing.elementsOffset + 8 * ((head + index) % slots), as: UInt.self)
    }
    SharedHeap.unsafeMarkInTransit(ring)
    return ring
  }

  static func sentElement(_ heap: inout SharedHeap, by owner: DomainOwner)
    -> UnsafeMutableRawPointer
  {
    let payload = heap.allocate(
      size: 64, alignment: 16, owner: owner, typeTag: elementTag, dropHandler: 0)!
    SharedHeap.unsafeMarkInTransit(payload)
    return payload
  }

  static func adopt(_ heap: inout SharedHeap, _ ring: UnsafeMutableRawPointer) -> SharedHeapError? {
    sharedError {
      _ = try heap.adoptDeque(
        ring, ringTag: ringTag, elementTag: elementTag, by: bob, from: alice)
    }
  }

  @Test func theRingAndEveryElementChangeOwnerTogether() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let elements = (0..<3).map { _ in Self.sentElement(&heap, by: Self.alice) }
      let ring = Self.sentRing(&heap, elements, head: 2, by: Self.alice)  // wraps around
      let charge = heap.accountedBytes(of: Self.alice)
      var count = -1
      let refusal = sharedError {
        count = try heap.adoptDeque(
          ring, ringTag: Self.ringTag, elementTag: Self.elementTag, by: Self.bob,
          from: Self.alice)
      }
      #expect(refusal == nil && count == 3)
      for payload in elements + [ring] {
        #expect(entryOf(heap, payload)?.owner == Self.bob)
        #expect(entryOf(heap, payload)?.isInTransit == false)
      }
      #expect(heap.accountedBytes(of: Self.alice) == 0)
      #expect(heap.accountedBytes(of: Self.bob) == charge)
      expectConsistent(heap)
    }
  }

  @Test func oneBadElementLeavesEverythingWithTheSender() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let good = (0..<2).map { _ in Self.sentElement(&heap, by: Self.alice) }
      let kept = heap.allocate(
        size: 64, alignment: 16, owner: Self.alice, typeTag: Self.elementTag, dropHandler: 0)!
      let ring = Self.sentRing(&heap, good + [kept], by: Self.alice)
      let charge = heap.accountedBytes(of: Self.alice)
      #expect(Self.adopt(&heap, ring) == .notInTransit(address: UInt(bitPattern: kept)))
      for payload in good + [ring] {
        #expect(entryOf(heap, payload)?.owner == Self.alice)
        #expect(entryOf(heap, payload)?.isInTransit == true)
      }
      #expect(entryOf(heap, kept)?.isInTransit == false)
      #expect(heap.accountedBytes(of: Self.alice) == charge)
      #expect(heap.accountedBytes(of: Self.bob) == 0)
      // The sender takes it all back.
      for payload in good + [ring] {
        #expect(sharedError { try heap.freeUndelivered(payload, by: Self.alice) } == nil)
      }
      expectConsistent(heap)
    }
  }

  @Test func anElementListedTwiceIsRefused() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let element = Self.sentElement(&heap, by: Self.alice)
      let ring = Self.sentRing(&heap, [element, element], by: Self.alice)
      #expect(Self.adopt(&heap, ring) == .notInTransit(address: UInt(bitPattern: element)))
      #expect(entryOf(heap, element)?.owner == Self.alice)
      #expect(entryOf(heap, element)?.isInTransit == true)
      #expect(entryOf(heap, ring)?.owner == Self.alice)
      expectConsistent(heap)
    }
  }

  @Test func aRingWithItsHeadOrCountOutOfRangeIsRefused() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let element = Self.sentElement(&heap, by: Self.alice)
      for (head, count) in [(Self.slots, 1), (-1, 1), (0, Self.slots + 1), (0, -1)] {
        let ring = Self.sentRing(&heap, [element], head: 0, count: count, by: Self.alice)
        ring.storeBytes(of: head, toByteOffset: DequeRing.headOffset, as: Int.self)
        #expect(Self.adopt(&heap, ring) == .badRing(address: UInt(bitPattern: ring)))
        #expect(entryOf(heap, ring)?.owner == Self.alice)
      }
      #expect(entryOf(heap, element)?.isInTransit == true)
      expectConsistent(heap)
    }
  }

  @Test func aRingOfAnotherTypeOrFromAnotherSenderIsRefused() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let element = Self.sentElement(&heap, by: Self.alice)
      let ring = Self.sentRing(&heap, [element], by: Self.alice)
      let address = UInt(bitPattern: ring)
      #expect(
        sharedError {
          _ = try heap.adoptDeque(
            ring, ringTag: Self.elementTag, elementTag: Self.elementTag, by: Self.bob,
            from: Self.alice)
        } == .wrongType(address: address, tag: Self.ringTag))
      #expect(
        sharedError {
          _ = try heap.adoptDeque(
            ring, ringTag: Self.ringTag, elementTag: Self.elementTag, by: Self.alice,
            from: Self.bob)
        } == .notFromSender(address: address, owner: 1))
      #expect(entryOf(heap, element)?.owner == Self.alice)
      expectConsistent(heap)
    }
  }
}
