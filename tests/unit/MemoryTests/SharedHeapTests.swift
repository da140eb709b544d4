/// Tests of `SharedHeap`: allocation at every alignment, who may free and move, borrows,
/// reclaiming a dead domain's memory, bogus pointers, the header layout the proxies rely
/// on, and a long random run checked against a model.
import Memory
import Testing

struct SharedHeapTests {
  static let kernel = DomainOwner.kernel
  static let alice = DomainOwner(1)
  static let bob = DomainOwner(2)

  @Test func allocateAndFreeRoundTrip() {
    withSharedHeap(bytes: 64 * 1024) { heap, memory, bytes in
      guard
        let payload = heap.allocate(
          size: 100, alignment: 8, owner: Self.alice, typeTag: 0x7A6, dropHandler: 0xD40)
      else {
        Issue.record("allocation failed")
        return
      }
      #expect(isAligned(payload, to: 16))
      let entry = entryOf(heap, payload)
      #expect(
        entry
          == SharedAllocation(
            owner: Self.alice, borrows: 0, size: 100, typeTag: 0x7A6, dropHandler: 0xD40))
      let block = FilledBlock(pointer: payload, size: 100, seed: 1)
      block.fill()
      let totals = heap.totals
      let aliceHolds = heap.statistics(for: Self.alice)
      #expect(totals == SharedOwnerStatistics(allocations: 1, bytes: 100))
      #expect(aliceHolds == SharedOwnerStatistics(allocations: 1, bytes: 100))
      expectConsistent(heap)
      #expect(block.isIntact)

      #expect(sharedError { try heap.free(payload, by: Self.alice) } == nil)
      let after = heap.totals
      let backing = heap.heapStatistics
      #expect(after == SharedOwnerStatistics())
      #expect(backing.bytesInUse == 0 && backing.liveAllocations == 0)
      expectConsistent(heap)
      // Everything went back: the whole region is one allocation again.
      let whole = heap.allocate(
        size: bytes - FreeListHeap.headerSize - SharedHeap.headerSize, alignment: 16,
        owner: Self.kernel, typeTag: 0, dropHandler: 0)
      #expect(whole == memory + FreeListHeap.headerSize + SharedHeap.headerSize)
    }
  }

  @Test(arguments: (0...12).map { 1 << $0 })
  func payloadsAreAlignedAndApart(alignment: Int) {
    withSharedHeap(bytes: 1 << 20) { heap, _, _ in
      var blocks: [FilledBlock] = []
      for (index, size) in [0, 1, 15, 16, 63, 64, 65, 100, 4095, 4096, 4097].enumerated() {
        guard
          let payload = heap.allocate(
            size: size, alignment: alignment, owner: Self.alice, typeTag: UInt64(size),
            dropHandler: 0)
        else {
          Issue.record("no memory for \(size) bytes at alignment \(alignment)")
          return
        }
        guard isAligned(payload, to: max(alignment, 16)) else {
          Issue.record("\(size) bytes at alignment \(alignment): misaligned \(payload)")
          return
        }
        let block = FilledBlock(pointer: payload, size: size, seed: UInt64(index))
        block.fill()
        blocks.append(block)
        expectConsistent(heap)
      }
      // Each payload and the header in front of it are clear of every other.
      let spans = blocks.map {
        ($0.addresses.lowerBound - UInt(SharedHeap.headerSize))..<$0.addresses.upperBound
      }.sorted { $0.lowerBound < $1.lowerBound }
      for (below, above) in zip(spans, spans.dropFirst()) where below.overlaps(above) {
        Issue.record("allocations \(below) and \(above) overlap")
      }
      #expect(blocks.allIntact)
      for block in blocks {
        #expect(entryOf(heap, block.pointer)?.size == block.size)
        #expect(sharedError { try heap.free(block.pointer, by: Self.alice) } == nil)
      }
      let backing = heap.heapStatistics
      #expect(backing.bytesInUse == 0)
      expectConsistent(heap)
    }
  }

  @Test(arguments: [(-1, 16), (16, 0), (16, -16), (16, 3), (16, 48), (16, 8192), (Int.max, 16)])
  func impossibleRequestsFail(size: Int, alignment: Int) {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let payload = heap.allocate(
        size: size, alignment: alignment, owner: Self.alice, typeTag: 0, dropHandler: 0)
      #expect(payload == nil)
      let totals = heap.totals
      #expect(totals == SharedOwnerStatistics())
      expectConsistent(heap)
    }
  }

  @Test func exhaustionGivesNilAndFreeingMakesRoom() {
    var empty = SharedHeap(secret: testSecret)
    #expect(
      empty.allocate(size: 0, alignment: 1, owner: Self.alice, typeTag: 0, dropHandler: 0) == nil)
    withSharedHeap(bytes: 16 * 1024) { heap, _, _ in
      var payloads: [UnsafeMutableRawPointer] = []
      while let payload = heap.allocate(
        size: 200, alignment: 16, owner: Self.bob, typeTag: 0, dropHandler: 0)
      {
        payloads.append(payload)
      }
      // 200 bytes and a 64-byte header, rounded to 272, and a 16-byte block header.
      #expect(payloads.count == 16 * 1024 / 288)
      let held = heap.statistics(for: Self.bob)
      #expect(
        held == SharedOwnerStatistics(allocations: payloads.count, bytes: payloads.count * 200))
      expectConsistent(heap)
      #expect(sharedError { try heap.free(payloads.removeLast(), by: Self.bob) } == nil)
      #expect(
        heap.allocate(size: 200, alignment: 16, owner: Self.bob, typeTag: 0, dropHandler: 0) != nil)
      #expect(
        heap.allocate(size: 200, alignment: 16, owner: Self.bob, typeTag: 0, dropHandler: 0) == nil)
      expectConsistent(heap)
    }
  }

  @Test func secondRegionIsUsedWhenTheFirstIsFull() {
    withFilledHostMemory(bytes: 8192) { memory in
      var heap = SharedHeap(secret: testSecret)
      #expect(addRegion(&heap, memory, size: 4096))
      #expect(!addRegion(&heap, memory + 2048, size: 4096))
      var payloads: [UnsafeMutableRawPointer] = []
      while let payload = heap.allocate(
        size: 1000, alignment: 64, owner: Self.alice, typeTag: 0, dropHandler: 0)
      {
        payloads.append(payload)
      }
      let firstRegion = payloads.count
      #expect(addRegion(&heap, memory + 4096, size: 4096))
      while let payload = heap.allocate(
        size: 1000, alignment: 64, owner: Self.alice, typeTag: 0, dropHandler: 0)
      {
        payloads.append(payload)
      }
      #expect(firstRegion > 0 && payloads.count == 2 * firstRegion)
      expectConsistent(heap)
      let reclaimed = heap.reclaim(owner: Self.alice)
      #expect(reclaimed.freed == payloads.count && reclaimed.orphaned == 0)
      let backing = heap.heapStatistics
      #expect(backing.bytesInUse == 0)
      expectConsistent(heap)
    }
  }

  @Test func onlyTheOwnerFrees() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let payload = heap.allocate(
        size: 32, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)!
      let address = UInt(bitPattern: payload)
      for stranger in [Self.bob, Self.kernel] {
        #expect(
          sharedError { try heap.free(payload, by: stranger) }
            == .notOwner(address: address, owner: 1))
      }
      #expect(entryOf(heap, payload)?.owner == Self.alice)
      expectConsistent(heap)
      #expect(sharedError { try heap.free(payload, by: Self.alice) } == nil)
      // Freed: a second free finds no entry.
      #expect(
        sharedError { try heap.free(payload, by: Self.alice) } == .notShared(address: address))
      expectConsistent(heap)
    }
  }

  @Test func freeWhileBorrowedIsRefused() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let payload = heap.allocate(
        size: 32, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)!
      let address = UInt(bitPattern: payload)
      #expect(sharedError { try heap.borrow(payload) } == nil)
      #expect(sharedError { try heap.borrow(payload) } == nil)
      #expect(
        sharedError { try heap.free(payload, by: Self.alice) }
          == .borrowed(address: address, borrows: 2))
      #expect(endBorrowResult(&heap, payload) == .success(false))
      #expect(endBorrowResult(&heap, payload) == .success(false))
      #expect(sharedError { try heap.free(payload, by: Self.alice) } == nil)
      expectConsistent(heap)
    }
  }

  @Test func moveChangesTheOwnerOnlyFromTheOwnerAndNotWhileBorrowed() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let payload = heap.allocate(
        size: 48, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)!
      let address = UInt(bitPattern: payload)
      #expect(sharedError { try heap.move(payload, from: Self.alice, to: Self.bob) } == nil)
      #expect(entryOf(heap, payload)?.owner == Self.bob)
      let aliceHolds = heap.statistics(for: Self.alice)
      let bobHolds = heap.statistics(for: Self.bob)
      #expect(aliceHolds == SharedOwnerStatistics())
      #expect(bobHolds == SharedOwnerStatistics(allocations: 1, bytes: 48))

      #expect(
        sharedError { try heap.move(payload, from: Self.alice, to: Self.kernel) }
          == .notOwner(address: address, owner: 2))
      #expect(sharedError { try heap.borrow(payload) } == nil)
      #expect(
        sharedError { try heap.move(payload, from: Self.bob, to: Self.alice) }
          == .borrowed(address: address, borrows: 1))
      #expect(entryOf(heap, payload)?.owner == Self.bob)
      #expect(endBorrowResult(&heap, payload) == .success(false))
      // Moving to oneself is allowed and changes nothing.
      #expect(sharedError { try heap.move(payload, from: Self.bob, to: Self.bob) } == nil)
      #expect(sharedError { try heap.move(payload, from: Self.bob, to: Self.kernel) } == nil)
      #expect(
        sharedError { try heap.free(payload, by: Self.bob) }
          == .notOwner(address: address, owner: 0))
      #expect(sharedError { try heap.free(payload, by: Self.kernel) } == nil)
      expectConsistent(heap)
    }
  }

  @Test func borrowsAreCounted() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let payload = heap.allocate(
        size: 8, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)!
      let address = UInt(bitPattern: payload)
      #expect(endBorrowResult(&heap, payload) == .failure(.notBorrowed(address: address)))
      for count in 1...3 {
        #expect(sharedError { try heap.borrow(payload) } == nil)
        #expect(entryOf(heap, payload)?.borrows == count)
      }
      for count in (0..<3).reversed() {
        #expect(endBorrowResult(&heap, payload) == .success(false))
        #expect(entryOf(heap, payload)?.borrows == count)
      }
      #expect(endBorrowResult(&heap, payload) == .failure(.notBorrowed(address: address)))

      // The count saturates rather than wrapping.
      payload.storeBytes(of: UInt32.max, toByteOffset: SharedHeap.borrowsOffset, as: UInt32.self)
      #expect(sharedError { try heap.borrow(payload) } == .tooManyBorrows(address: address))
      #expect(entryOf(heap, payload)?.borrows == Int(UInt32.max))
      payload.storeBytes(of: 0, toByteOffset: SharedHeap.borrowsOffset, as: UInt32.self)
      #expect(sharedError { try heap.free(payload, by: Self.alice) } == nil)
      expectConsistent(heap)
    }
  }

  @Test func reclaimFreesWhatNobodyBorrowsAndOrphansTheRest() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let aliceSizes = [10, 20, 30, 40, 50]
      let alices = aliceSizes.map {
        heap.allocate(size: $0, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)!
      }
      let bobs = [100, 200, 300].map {
        heap.allocate(size: $0, alignment: 64, owner: Self.bob, typeTag: 0, dropHandler: 0)!
      }
      let kernels = [
        heap.allocate(size: 7, alignment: 1, owner: Self.kernel, typeTag: 0, dropHandler: 0)!
      ]
      // Bob borrows two of Alice's, one of them twice; Alice borrows one of Bob's.
      for payload in [alices[1], alices[3], alices[3], bobs[0]] {
        #expect(sharedError { try heap.borrow(payload) } == nil)
      }
      let before = statistics(heap, [Self.alice, Self.bob, Self.kernel])
      #expect(
        before == [
          SharedOwnerStatistics(allocations: 5, bytes: 150),
          SharedOwnerStatistics(allocations: 3, bytes: 600),
          SharedOwnerStatistics(allocations: 1, bytes: 7),
        ])

      let reclaimed = heap.reclaim(owner: Self.alice)
      #expect(reclaimed.freed == 3 && reclaimed.bytes == 10 + 30 + 50 && reclaimed.orphaned == 2)
      let after = statistics(heap, [Self.alice, Self.bob, Self.kernel])
      let orphans = heap.orphans
      let totals = heap.totals
      #expect(after == [SharedOwnerStatistics(), before[1], before[2]])
      #expect(orphans == SharedOwnerStatistics(allocations: 2, bytes: 60))
      #expect(totals == SharedOwnerStatistics(allocations: 6, bytes: 60 + 600 + 7))
      #expect(entryOf(heap, bobs[0])?.borrows == 1)
      for freed in [alices[0], alices[2], alices[4]] {
        #expect(entryOf(heap, freed) == nil)
      }
      expectConsistent(heap)

      // An orphan can be neither freed nor moved, not even by a domain restarted under the
      // dead one's id, and a second reclaim leaves it alone.
      let orphan = alices[3]
      let address = UInt(bitPattern: orphan)
      #expect(entryOf(heap, orphan)?.isOrphaned == true)
      #expect(
        sharedError { try heap.free(orphan, by: Self.alice) }
          == .orphaned(address: address, owner: 1))
      #expect(
        sharedError { try heap.move(orphan, from: Self.alice, to: Self.bob) }
          == .orphaned(address: address, owner: 1))
      let again = heap.reclaim(owner: Self.alice)
      #expect(again.freed == 0 && again.bytes == 0 && again.orphaned == 0)
      let restarted = heap.allocate(
        size: 5, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)!
      let restartedHolds = heap.statistics(for: Self.alice)
      #expect(restartedHolds == SharedOwnerStatistics(allocations: 1, bytes: 5))

      // A borrower may lend it on; it is freed when the last borrow ends.
      #expect(sharedError { try heap.borrow(orphan) } == nil)
      #expect(endBorrowResult(&heap, orphan) == .success(false))
      #expect(endBorrowResult(&heap, orphan) == .success(false))
      #expect(endBorrowResult(&heap, orphan) == .success(true))
      #expect(entryOf(heap, orphan) == nil)
      #expect(endBorrowResult(&heap, alices[1]) == .success(true))
      let noOrphans = heap.orphans
      #expect(noOrphans == SharedOwnerStatistics())
      expectConsistent(heap)

      #expect(endBorrowResult(&heap, bobs[0]) == .success(false))
      #expect(sharedError { try heap.free(restarted, by: Self.alice) } == nil)
      for payload in bobs { #expect(sharedError { try heap.free(payload, by: Self.bob) } == nil) }
      #expect(sharedError { try heap.free(kernels[0], by: Self.kernel) } == nil)
      let backing = heap.heapStatistics
      #expect(backing.bytesInUse == 0)
      expectConsistent(heap)
    }
  }

  @Test func bogusPointersAreNotShared() {
    withSharedHeap(bytes: 64 * 1024) { heap, memory, _ in
      let payload = heap.allocate(
        size: 256, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)!
      let neighbour = heap.allocate(
        size: 256, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)!
      FilledBlock(pointer: payload, size: 256, seed: 3).fill()
      let before = heap.totals

      // The first payload is at memory + 80, past the backing block's header and its own.
      var bogus = [memory, memory + 16, memory + 64, memory + 64 * 1024 - 16]
      bogus += [1, 8, 16, 48, 64, 128, 240].map { payload + $0 }
      bogus.append(payload - 16)
      // A copy of a real header does not pass for one at another address.
      (payload + 128 - 64).copyMemory(from: payload - 64, byteCount: 64)
      bogus.append(payload + 128)
      withFilledHostMemory(bytes: 4096) { foreign in
        (foreign + 1024 - 64).copyMemory(from: payload - 64, byteCount: 64)
        for pointer in bogus + [foreign + 64, foreign + 1024] {
          expectNotShared(&heap, pointer)
        }
      }
      // A freed payload is no longer shared, even where the freed memory still holds bytes.
      #expect(sharedError { try heap.free(neighbour, by: Self.alice) } == nil)
      expectNotShared(&heap, neighbour)

      let after = heap.totals
      #expect(after.allocations == before.allocations - 1)
      #expect(entryOf(heap, payload)?.owner == Self.alice)
      expectConsistent(heap)
      #expect(sharedError { try heap.free(payload, by: Self.alice) } == nil)
      expectConsistent(heap)
    }
  }

  /// A payload of no bytes in the last block of the heap starts where the heap ends, and is
  /// a payload all the same (the fuzzer found one that nothing could find, free or verify).
  @Test func aPayloadOfNoBytesAtTheEndOfTheHeapIsFound() {
    // 64 blocks of 80 bytes: a 16-byte block header, a 64-byte header, no payload.
    withSharedHeap(bytes: 64 * 80) { heap, memory, bytes in
      var payloads: [UnsafeMutableRawPointer] = []
      while let payload = heap.allocate(
        size: 0, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)
      {
        payloads.append(payload)
      }
      #expect(payloads.count == 64 && payloads.contains(memory + bytes))
      expectConsistent(heap)
      for payload in payloads {
        #expect(entryOf(heap, payload)?.size == 0)
        #expect(sharedError { try heap.free(payload, by: Self.alice) } == nil)
      }
      #expect(heap.heapStatistics.bytesInUse == 0)
      expectConsistent(heap)
    }
  }

  @Test func anOverwrittenHeaderFailsVerification() {
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let payload = heap.allocate(
        size: 64, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)!
      _ = heap.allocate(size: 64, alignment: 16, owner: Self.alice, typeTag: 0, dropHandler: 0)!
      for offset in [SharedHeap.magicOffset, SharedHeap.nextOffset, SharedHeap.previousOffset] {
        let saved = payload.load(fromByteOffset: offset, as: UInt.self)
        payload.storeBytes(of: saved ^ 0x100, toByteOffset: offset, as: UInt.self)
        let consistent = heap.verify()
        #expect(!consistent, "offset \(offset)")
        payload.storeBytes(of: saved, toByteOffset: offset, as: UInt.self)
        expectConsistent(heap)
      }
      // With its list links broken, the payload cannot be freed, so the list stays whole.
      let saved = payload.load(fromByteOffset: SharedHeap.nextOffset, as: UInt.self)
      payload.storeBytes(of: saved &+ 16, toByteOffset: SharedHeap.nextOffset, as: UInt.self)
      let address = UInt(bitPattern: payload)
      #expect(
        sharedError { try heap.free(payload, by: Self.alice) } == .notShared(address: address))
      #expect(entryOf(heap, payload) == nil)
      payload.storeBytes(of: saved, toByteOffset: SharedHeap.nextOffset, as: UInt.self)
      let reclaimed = heap.reclaim(owner: Self.alice)
      #expect(reclaimed.freed == 2)
      expectConsistent(heap)
    }
  }

  @Test func headerLayoutIsWhatTheProxiesRelyOn() {
    #expect(SharedHeap.headerSize == 64)
    #expect(
      [
        SharedHeap.magicOffset, SharedHeap.nextOffset, SharedHeap.previousOffset,
        SharedHeap.sizeOffset, SharedHeap.typeTagOffset, SharedHeap.dropHandlerOffset,
        SharedHeap.ownerOffset, SharedHeap.stateOffset, SharedHeap.borrowsOffset,
        SharedHeap.paddingOffset,
      ] == [-64, -56, -48, -40, -32, -24, -16, -12, -8, -4])
    withSharedHeap(bytes: 64 * 1024) { heap, _, _ in
      let payload = heap.allocate(
        size: 77, alignment: 256, owner: Self.bob, typeTag: 0xAB, dropHandler: 0xCD)!
      let newer = heap.allocate(
        size: 1, alignment: 16, owner: Self.bob, typeTag: 0, dropHandler: 0)!
      func field<T: BitwiseCopyable>(_ offset: Int, _: T.Type) -> T {
        payload.load(fromByteOffset: offset, as: T.self)
      }
      let header = UInt64(UInt(bitPattern: payload) - 64)
      #expect(
        field(SharedHeap.magicOffset, UInt64.self)
          == SharedHeap.headerMagic(at: UInt(header), secret: testSecret))
      #expect(field(SharedHeap.nextOffset, UInt.self) == 0)
      #expect(field(SharedHeap.previousOffset, UInt.self) == UInt(bitPattern: newer))
      #expect(
        newer.load(fromByteOffset: SharedHeap.nextOffset, as: UInt.self)
          == UInt(bitPattern: payload))
      #expect(field(SharedHeap.sizeOffset, UInt64.self) == 77)
      #expect(field(SharedHeap.typeTagOffset, UInt64.self) == 0xAB)
      #expect(field(SharedHeap.dropHandlerOffset, UInt64.self) == 0xCD)
      #expect(field(SharedHeap.ownerOffset, UInt32.self) == 2)
      #expect(field(SharedHeap.stateOffset, UInt32.self) == 0)
      #expect(field(SharedHeap.borrowsOffset, UInt32.self) == 0)
      #expect(field(SharedHeap.paddingOffset, UInt32.self) == 256 - 64)

      // The unchecked helpers do what the checked calls do.
      #expect(sharedError { try heap.move(payload, from: Self.bob, to: Self.alice) } == nil)
      SharedHeap.unsafeAddBorrow(payload)
      SharedHeap.unsafeAddBorrow(payload)
      #expect(entryOf(heap, payload)?.owner == Self.alice)
      #expect(entryOf(heap, payload)?.borrows == 2)
      expectConsistent(heap)
      #expect(!SharedHeap.unsafeRemoveBorrow(payload))
      let reclaimed = heap.reclaim(owner: Self.alice)
      #expect(reclaimed.freed == 0 && reclaimed.orphaned == 1)
      #expect(field(SharedHeap.stateOffset, UInt32.self) == SharedHeap.orphanedFlag)
      #expect(
        sharedError { try heap.freeOrphan(payload) }
          == .borrowed(address: UInt(bitPattern: payload), borrows: 1))
      #expect(
        sharedError { try heap.freeOrphan(newer) } == .notOrphaned(address: UInt(bitPattern: newer))
      )
      // The last borrow of an orphan, ended by a proxy: the proxy must hand it back.
      #expect(SharedHeap.unsafeRemoveBorrow(payload))
      #expect(sharedError { try heap.freeOrphan(payload) } == nil)
      #expect(entryOf(heap, payload) == nil)
      #expect(sharedError { try heap.free(newer, by: Self.bob) } == nil)
      let backing = heap.heapStatistics
      #expect(backing.bytesInUse == 0)
      expectConsistent(heap)
    }
  }

  @Test func errorsNameTheirAddressAndHaveAMessage() {
    let errors: [SharedHeapError] = [
      .notShared(address: 1), .notOwner(address: 1, owner: 2), .orphaned(address: 1, owner: 2),
      .borrowed(address: 1, borrows: 3), .notBorrowed(address: 1), .tooManyBorrows(address: 1),
      .notOrphaned(address: 1), .wrongType(address: 1, tag: 2), .notInTransit(address: 1),
      .notFromSender(address: 1, owner: 2),
    ]
    #expect(errors.allSatisfy { $0.address == 1 && !$0.message.isEmpty })
    #expect(Set(errors.map(\.message)).count == errors.count)
  }

  @Test(arguments: [0x5EED_0003, 0xD0_4A1E] as [UInt64])
  func randomTrafficMatchesAModel(seed: UInt64) {
    let bytes = 1 << 18
    withSharedHeap(bytes: bytes) { heap, memory, _ in
      var model = SharedHeapModel()
      var random = XorShift(seed: seed)
      let owners = (0..<5).map { DomainOwner(UInt32($0)) }
      var failures = 0
      // How often the rarer outcomes came up, so a change to the mix cannot hide them.
      var orphansMade = 0
      var orphansFreed = 0
      var refusals = 0

      for step in 0..<12_000 {
        let choice = random.next(below: 100)
        let owner = owners[random.next(below: owners.count)]
        if model.live.isEmpty || (choice < 40 && model.live.count < 300) {
          let size =
            random.next(below: 16) == 0 ? random.next(below: 8192) : random.next(below: 300)
          let alignment = 1 << random.next(below: 13)
          guard
            let payload = heap.allocate(
              size: size, alignment: alignment, owner: owner, typeTag: UInt64(step),
              dropHandler: 0)
          else {
            failures += 1
            continue
          }
          guard isAligned(payload, to: alignment) else {
            Issue.record("step \(step): \(payload) not aligned to \(alignment)")
            return
          }
          model.add(FilledBlock(pointer: payload, size: size, seed: UInt64(step)), owner: owner)
        } else if choice < 94 {
          let index = random.next(below: model.live.count)
          let payload = model.live[index].block.pointer
          // Mostly the owner acts, sometimes a stranger.
          let actor = random.next(below: 4) == 0 ? owner : model.live[index].owner
          let expected: SharedHeapError?
          let actual: SharedHeapError?
          switch choice {
          case ..<55:
            expected = model.move(index, from: actor, to: owner)
            actual = sharedError { try heap.move(payload, from: actor, to: owner) }
          case ..<70:
            expected = model.borrow(index)
            actual = sharedError { try heap.borrow(payload) }
          case ..<85:
            let (error, frees) = model.endBorrow(index)
            let result = endBorrowResult(&heap, payload)
            let modelResult: Result<Bool, SharedHeapError> =
              if let error { .failure(error) } else { .success(frees) }
            if frees { orphansFreed += 1 }
            if result != modelResult {
              Issue.record("step \(step): endBorrow gave \(result), model \(modelResult)")
              return
            }
            expected = nil
            actual = nil
          default:
            expected = model.free(index, by: actor)
            actual = sharedError { try heap.free(payload, by: actor) }
          }
          if actual != nil { refusals += 1 }
          guard actual == expected else {
            Issue.record(
              "step \(step): got \(String(describing: actual)), model \(String(describing: expected))"
            )
            return
          }
        } else if choice < 97 {
          let expected = model.reclaim(owner)
          let actual = heap.reclaim(owner: owner)
          orphansMade += expected.orphaned
          guard actual == expected else {
            Issue.record("step \(step): reclaim gave \(actual), model \(expected)")
            return
          }
        } else if let any = model.live.first {
          expectNotShared(&heap, any.block.pointer + 16)
        }

        guard heap.verify(), model.freedBlocksWereIntact else {
          Issue.record("step \(step): heap inconsistent or a block overwritten")
          return
        }
        if step % 100 == 0 {
          let counted = statistics(heap, owners)
          let totals = heap.totals
          let orphans = heap.orphans
          #expect(counted == owners.map { model.statistics(for: $0) }, "step \(step)")
          #expect(totals == model.totals && orphans == model.orphans, "step \(step)")
          #expect(model.live.allSatisfy { $0.block.isIntact }, "step \(step)")
        }
      }
      // The region is small enough to run out now and then, but not often.
      #expect(failures > 0 && failures < 1000)
      #expect(orphansMade > 10 && orphansFreed > 10 && refusals > 100)

      // Every borrow ends and every domain dies: all memory comes back.
      while let index = model.live.firstIndex(where: { $0.borrows > 0 }) {
        let payload = model.live[index].block.pointer
        let frees = model.endBorrow(index).frees
        #expect(endBorrowResult(&heap, payload) == .success(frees))
      }
      for owner in owners {
        let expected = model.reclaim(owner)
        let actual = heap.reclaim(owner: owner)
        #expect(actual == expected)
      }
      #expect(model.live.isEmpty && model.freedBlocksWereIntact)
      let totals = heap.totals
      let backing = heap.heapStatistics
      #expect(totals == SharedOwnerStatistics())
      #expect(backing.bytesInUse == 0 && backing.liveAllocations == 0)
      expectConsistent(heap)
      let whole = heap.allocate(
        size: bytes - FreeListHeap.headerSize - SharedHeap.headerSize, alignment: 16,
        owner: owners[0], typeTag: 0, dropHandler: 0)
      #expect(whole == memory + FreeListHeap.headerSize + SharedHeap.headerSize)
    }
  }
}

/// What the shared heap should hold, kept the obvious way, for the random test.
private struct SharedHeapModel {
  struct Entry {
    let block: FilledBlock
    var owner: DomainOwner
    var borrows = 0
    var isOrphaned = false
  }

  private(set) var live: [Entry] = []
  /// False once a block was found overwritten when it was freed.
  private(set) var freedBlocksWereIntact = true

  mutating func add(_ block: FilledBlock, owner: DomainOwner) {
    block.fill()
    live.append(Entry(block: block, owner: owner))
  }

  mutating func move(_ index: Int, from: DomainOwner, to: DomainOwner) -> SharedHeapError? {
    if let error = ownerError(index, from) { return error }
    live[index].owner = to
    return nil
  }

  mutating func borrow(_ index: Int) -> SharedHeapError? {
    live[index].borrows += 1
    return nil
  }

  /// The error, or whether the heap should free the payload.
  mutating func endBorrow(_ index: Int) -> (error: SharedHeapError?, frees: Bool) {
    let entry = live[index]
    guard entry.borrows > 0 else { return (.notBorrowed(address: address(index)), false) }
    live[index].borrows -= 1
    guard entry.borrows == 1, entry.isOrphaned else { return (nil, false) }
    remove(index)
    return (nil, true)
  }

  mutating func free(_ index: Int, by owner: DomainOwner) -> SharedHeapError? {
    if let error = ownerError(index, owner) { return error }
    remove(index)
    return nil
  }

  mutating func reclaim(_ owner: DomainOwner) -> (freed: Int, bytes: Int, orphaned: Int) {
    var result = (freed: 0, bytes: 0, orphaned: 0)
    for index in live.indices.reversed() where live[index].owner == owner && !live[index].isOrphaned
    {
      if live[index].borrows == 0 {
        result.freed += 1
        result.bytes += live[index].block.size
        remove(index)
      } else {
        live[index].isOrphaned = true
        result.orphaned += 1
      }
    }
    return result
  }

  func statistics(for owner: DomainOwner) -> SharedOwnerStatistics {
    count(live.filter { $0.owner == owner && !$0.isOrphaned })
  }

  var totals: SharedOwnerStatistics { count(live) }

  var orphans: SharedOwnerStatistics { count(live.filter(\.isOrphaned)) }

  private func count(_ entries: [Entry]) -> SharedOwnerStatistics {
    SharedOwnerStatistics(
      allocations: entries.count, bytes: entries.reduce(0) { $0 + $1.block.size })
  }

  private func ownerError(_ index: Int, _ owner: DomainOwner) -> SharedHeapError? {
    let entry = live[index]
    if entry.isOrphaned { return .orphaned(address: address(index), owner: entry.owner.rawValue) }
    if entry.owner != owner {
      return .notOwner(address: address(index), owner: entry.owner.rawValue)
    }
    if entry.borrows > 0 { return .borrowed(address: address(index), borrows: entry.borrows) }
    return nil
  }

  private func address(_ index: Int) -> UInt {
    UInt(bitPattern: live[index].block.pointer)
  }

  private mutating func remove(_ index: Int) {
    if !live[index].block.isIntact { freedBlocksWereIntact = false }
    live.swapAt(index, live.count - 1)
    live.removeLast()
  }
}
