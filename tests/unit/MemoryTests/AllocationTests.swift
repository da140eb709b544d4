/// Tests of `FreeListHeap.allocate`: alignment, sizes, exhaustion and reuse.
import Memory
import Testing

struct AllocationTests {
  static let powersOfTwo = (0...12).map { 1 << $0 }
  static let oddSizes = [0, 1, 3, 7, 15, 16, 17, 24, 31, 33, 100, 255, 1000, 4095, 4097]

  @Test(arguments: powersOfTwo)
  func everyPowerOfTwoAlignmentIsHonoured(alignment: Int) {
    withHostMemory(bytes: 1 << 20) { memory in
      var heap = makeHeap(memory, bytes: 1 << 20)
      var blocks: [FilledBlock] = []
      for (index, size) in Self.oddSizes.enumerated() {
        guard let pointer = heap.allocate(size: size, alignment: alignment) else {
          Issue.record("no memory for \(size) bytes at alignment \(alignment)")
          return
        }
        #expect(isAligned(pointer, to: alignment))
        #expect(isAligned(pointer, to: 16))
        let block = FilledBlock(pointer: pointer, size: size, seed: UInt64(index))
        block.fill()
        blocks.append(block)
        expectConsistent(heap)
      }
      for block in blocks {
        #expect(block.isIntact)
        mustFree(&heap, block.pointer)
      }
      #expect(heap.statistics.bytesInUse == 0)
      expectConsistent(heap)
    }
  }

  @Test func alignmentsBeyondAPageWork() {
    withHostMemory(bytes: 1 << 20) { memory in
      var heap = makeHeap(memory, bytes: 1 << 20)
      for alignment in [8192, 65536] {
        let pointer = heap.allocate(size: 40, alignment: alignment)
        #expect(pointer.map { isAligned($0, to: alignment) } == true)
      }
      expectConsistent(heap)
    }
  }

  @Test(arguments: [0, -1, -16, 3, 6, 24, 48, 4097, Int.min])
  func alignmentThatIsNotAPowerOfTwoFails(alignment: Int) {
    withHostMemory(bytes: 4096) { memory in
      var heap = makeHeap(memory, bytes: 4096)
      #expect(heap.allocate(size: 16, alignment: alignment) == nil)
      #expect(heap.statistics.failedAllocations == 1)
      #expect(heap.statistics.totalAllocations == 0)
      expectConsistent(heap)
    }
  }

  @Test func zeroBytesGiveDistinctUsablePointers() {
    withHostMemory(bytes: 4096) { memory in
      var heap = makeHeap(memory, bytes: 4096)
      let first = heap.allocate(size: 0, alignment: 1)
      let second = heap.allocate(size: 0, alignment: 1)
      #expect(first != nil && second != nil && first != second)
      #expect(heap.statistics.liveAllocations == 2)
      if let first { mustFree(&heap, first) }
      if let second { mustFree(&heap, second) }
      expectConsistent(heap)
    }
  }

  @Test(arguments: [
    (Int.max, 16), (Int.max - 15, 16), (Int.max / 2, 16), (Int.max, 4096), (-1, 16),
    (Int.min, 16), (64, 1 << 62), (Int.max, 1 << 62),
  ])
  func impossibleRequestsFailCleanly(size: Int, alignment: Int) {
    withHostMemory(bytes: 4096) { memory in
      var heap = makeHeap(memory, bytes: 4096)
      #expect(heap.allocate(size: size, alignment: alignment) == nil)
      #expect(heap.statistics.failedAllocations == 1)
      expectConsistent(heap)
      #expect(heap.allocate(size: 64, alignment: 16) != nil)
    }
  }

  @Test func exhaustionReturnsNilAndTheHeapStillWorks() {
    withHostMemory(bytes: 64 * 1024) { memory in
      var heap = makeHeap(memory, bytes: 64 * 1024)
      var pointers: [UnsafeMutableRawPointer] = []
      while let pointer = heap.allocate(size: 1000, alignment: 16) {
        pointers.append(pointer)
      }
      #expect(pointers.count == 64 * 1024 / blockSize(1000))
      #expect(heap.statistics.failedAllocations == 1)
      #expect(heap.allocate(size: 1, alignment: 1) == nil)
      #expect(heap.statistics.failedAllocations == 2)
      expectConsistent(heap)

      mustFree(&heap, pointers.removeLast())
      #expect(heap.allocate(size: 1000, alignment: 16) != nil)
      #expect(heap.statistics.totalAllocations == pointers.count + 2)
      expectConsistent(heap)
    }
  }

  @Test func freedMemoryIsReusedForTheSameSize() {
    withHostMemory(bytes: 64 * 1024) { memory in
      var heap = makeHeap(memory, bytes: 64 * 1024)
      let pointers = (0..<8).compactMap { _ in heap.allocate(size: 200, alignment: 16) }
      #expect(pointers.count == 8)
      mustFree(&heap, pointers[3])
      #expect(heap.allocate(size: 200, alignment: 16) == pointers[3])
      mustFree(&heap, pointers[0])
      #expect(heap.allocate(size: 150, alignment: 16) == pointers[0])
      expectConsistent(heap)
    }
  }

  @Test func alignmentPaddingBecomesAFreeBlock() {
    withHostMemory(bytes: 64 * 1024) { memory in
      var heap = makeHeap(memory, bytes: 64 * 1024)
      let aligned = heap.allocate(size: 64, alignment: 4096)
      #expect(aligned.map { isAligned($0, to: 4096) } == true)
      // The gap in front of the page-aligned block is free, and first fit finds it.
      let small = heap.allocate(size: 64, alignment: 16)
      #expect(small == memory + FreeListHeap.headerSize)
      expectConsistent(heap)
    }
  }
}
