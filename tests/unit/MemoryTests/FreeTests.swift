/// Tests of `FreeListHeap.free`: merging in any order, and the errors it reports.
import Memory
import Testing

struct FreeTests {
  enum Order: CaseIterable {
    case forward, reverse, interleaved, shuffled
  }

  /// The indices of `count` allocations in the order `order` frees them.
  static func indices(_ count: Int, in order: Order) -> [Int] {
    switch order {
    case .forward: Array(0..<count)
    case .reverse: Array((0..<count).reversed())
    case .interleaved:
      Array(stride(from: 1, to: count, by: 2)) + Array(stride(from: 0, to: count, by: 2))
    case .shuffled:
      (0..<count).reduce(into: (Array(0..<count), XorShift(seed: 7))) { state, index in
        state.0.swapAt(index, index + state.1.next(below: count - index))
      }.0
    }
  }

  @Test(arguments: Order.allCases)
  func freeingEverythingMergesTheRegionBackIntoOneBlock(order: Order) {
    let bytes = 64 * 1024
    withHostMemory(bytes: bytes) { memory in
      var heap = makeHeap(memory, bytes: bytes)
      let sizes = (0..<40).map { [0, 24, 100, 513, 1000][$0 % 5] }
      let pointers = sizes.enumerated().compactMap { index, size in
        heap.allocate(size: size, alignment: index % 3 == 0 ? 256 : 16)
      }
      #expect(pointers.count == sizes.count)
      for index in Self.indices(pointers.count, in: order) {
        mustFree(&heap, pointers[index])
        expectConsistent(heap)
      }
      #expect(heap.statistics.bytesInUse == 0)
      #expect(heap.statistics.liveAllocations == 0)
      let whole = heap.allocate(size: bytes - FreeListHeap.headerSize, alignment: 16)
      #expect(whole == memory + FreeListHeap.headerSize)
    }
  }

  @Test func freeOfAForeignPointerIsRefused() {
    withHostMemory(bytes: 4096) { memory in
      var heap = makeHeap(memory, bytes: 4096)
      let before = heap.statistics
      withHostMemory(bytes: 256) { foreign in
        #expect(
          freeError(&heap, foreign + 16) == .notAllocated(address: UInt(bitPattern: foreign + 16)))
      }
      // The start of the region has no header in front of it.
      #expect(freeError(&heap, memory) == .notAllocated(address: UInt(bitPattern: memory)))
      #expect(heap.statistics == before)
      expectConsistent(heap)
    }
  }

  @Test func freeOfAPointerIntoABlockIsRefused() {
    withHostMemory(bytes: 4096) { memory in
      var heap = makeHeap(memory, bytes: 4096)
      guard let pointer = heap.allocate(size: 256, alignment: 16) else {
        Issue.record("allocation failed")
        return
      }
      pointer.initializeMemory(as: UInt8.self, repeating: 0, count: 256)
      for offset in [1, 8, 16, 48, 255] {
        let inside = pointer + offset
        #expect(freeError(&heap, inside) == .notAllocated(address: UInt(bitPattern: inside)))
      }
      #expect(heap.statistics.liveAllocations == 1)
      expectConsistent(heap)
      mustFree(&heap, pointer)
      expectConsistent(heap)
    }
  }

  @Test func doubleFreeIsRefused() {
    withHostMemory(bytes: 4096) { memory in
      var heap = makeHeap(memory, bytes: 4096)
      let first = heap.allocate(size: 64, alignment: 16)!
      let second = heap.allocate(size: 64, alignment: 16)!
      let third = heap.allocate(size: 64, alignment: 16)!
      mustFree(&heap, second)
      let afterFirstFree = heap.statistics
      #expect(freeError(&heap, second) == .doubleFree(address: UInt(bitPattern: second)))
      #expect(heap.statistics == afterFirstFree)
      expectConsistent(heap)

      // Once merged into a neighbour, the block's header is inside a bigger free block.
      mustFree(&heap, first)
      mustFree(&heap, third)
      for pointer in [first, second, third] {
        #expect(freeError(&heap, pointer) == .doubleFree(address: UInt(bitPattern: pointer)))
      }
      #expect(heap.statistics.liveAllocations == 0)
      expectConsistent(heap)
    }
  }

  @Test func copiedHeaderIsRefused() {
    withHostMemory(bytes: 4096) { memory in
      var heap = makeHeap(memory, bytes: 4096)
      let pointer = heap.allocate(size: 512, alignment: 16)!
      let neighbour = heap.allocate(size: 64, alignment: 16)!
      // A header copied to another address does not pass for a header there.
      let elsewhere = pointer + 128
      (elsewhere - 16).copyMemory(from: pointer - 16, byteCount: 16)
      #expect(freeError(&heap, elsewhere) == .notAllocated(address: UInt(bitPattern: elsewhere)))
      expectConsistent(heap)
      mustFree(&heap, pointer)
      mustFree(&heap, neighbour)
      expectConsistent(heap)
    }
  }

  @Test func staleHeaderInsideAFreeBlockIsRefused() {
    withHostMemory(bytes: 4096) { memory in
      var heap = makeHeap(memory, bytes: 4096)
      let first = heap.allocate(size: 64, alignment: 16)!
      let second = heap.allocate(size: 64, alignment: 16)!
      var savedHeader = (UInt(0), UInt(0))
      withUnsafeMutableBytes(of: &savedHeader) {
        $0.copyMemory(from: .init(start: second - 16, count: 16))
      }
      mustFree(&heap, first)
      mustFree(&heap, second)
      // A write through a dangling pointer puts the old in-use header back, inside what is
      // now one free block.
      withUnsafeBytes(of: savedHeader) {
        (second - 16).copyMemory(from: $0.baseAddress!, byteCount: 16)
      }
      #expect(freeError(&heap, second) == .notAllocated(address: UInt(bitPattern: second)))
      #expect(heap.statistics.liveAllocations == 0)
      expectConsistent(heap)
    }
  }

  @Test func errorsDescribeThemselves() {
    let errors: [HeapFreeError] = [.notAllocated(address: 0x1000), .doubleFree(address: 0x2000)]
    #expect(errors.map(\.address) == [0x1000, 0x2000])
    #expect(errors.allSatisfy { !$0.message.isEmpty })
    #expect(errors[0].message != errors[1].message)
  }
}
