/// Tests of the counters in `HeapStatistics`.
import Memory
import Testing

struct StatisticsTests {
  @Test func newHeapCountsNothing() {
    let heap = FreeListHeap()
    #expect(heap.statistics == HeapStatistics())
    expectConsistent(heap)
  }

  @Test func countersFollowAllocationsAndFrees() {
    withHostMemory(bytes: 64 * 1024) { memory in
      var heap = makeHeap(memory, bytes: 64 * 1024)
      let a = heap.allocate(size: 100, alignment: 16)!
      let b = heap.allocate(size: 0, alignment: 8)!
      let c = heap.allocate(size: 1000, alignment: 16)!
      let inUse = blockSize(100) + blockSize(0) + blockSize(1000)
      #expect(inUse == 128 + 32 + 1024)
      #expect(
        heap.statistics
          == HeapStatistics(
            capacity: 64 * 1024, bytesInUse: inUse, peakBytesInUse: inUse, liveAllocations: 3,
            totalAllocations: 3, failedAllocations: 0))

      mustFree(&heap, c)
      _ = heap.allocate(size: 1 << 20, alignment: 16)
      let d = heap.allocate(size: 24, alignment: 16)!
      #expect(
        heap.statistics
          == HeapStatistics(
            capacity: 64 * 1024, bytesInUse: inUse - blockSize(1000) + blockSize(24),
            peakBytesInUse: inUse, liveAllocations: 3, totalAllocations: 4, failedAllocations: 1))

      for pointer in [a, b, d] { mustFree(&heap, pointer) }
      #expect(heap.statistics.bytesInUse == 0)
      #expect(heap.statistics.liveAllocations == 0)
      #expect(heap.statistics.peakBytesInUse == inUse)
      #expect(heap.statistics.totalAllocations == 4)
      expectConsistent(heap)
    }
  }

  @Test func aTailTooSmallToBeABlockCountsAsInUse() {
    withHostMemory(bytes: 4096) { memory in
      var heap = makeHeap(memory, bytes: 4096)
      // Leaves 16 bytes, less than a block: they go with the allocation.
      let pointer = heap.allocate(size: 4096 - 32, alignment: 16)
      #expect(pointer != nil)
      #expect(heap.statistics.bytesInUse == 4096)
      #expect(heap.allocate(size: 0, alignment: 1) == nil)
      if let pointer { mustFree(&heap, pointer) }
      #expect(heap.statistics.bytesInUse == 0)
      expectConsistent(heap)
    }
  }
}
