/// Tests of `FreeListHeap.addRegion` and of heaps with more than one region.
import Memory
import Testing

struct RegionTests {
  @Test func allocationsComeFromEveryRegion() {
    withHostMemory(bytes: 8192) { low in
      withHostMemory(bytes: 16384) { high in
        var heap = FreeListHeap()
        #expect(addRegion(&heap, low, size: 8192))
        #expect(addRegion(&heap, high, size: 16384))
        #expect(heap.statistics.capacity == 8192 + 16384)

        // Too big for either region: blocks never span regions.
        #expect(heap.allocate(size: 20000, alignment: 16) == nil)
        var pointers: [UnsafeMutableRawPointer] = []
        while let pointer = heap.allocate(size: 1000, alignment: 16) { pointers.append(pointer) }
        #expect(pointers.count == (8192 + 16384) / blockSize(1000))
        let lowRange = UInt(bitPattern: low)..<UInt(bitPattern: low + 8192)
        let inLow = pointers.filter { lowRange.contains(UInt(bitPattern: $0)) }
        #expect(inLow.count == 8 && pointers.count - inLow.count == 16)
        expectConsistent(heap)

        for pointer in pointers { mustFree(&heap, pointer) }
        #expect(heap.allocate(size: 16384 - FreeListHeap.headerSize, alignment: 16) != nil)
        #expect(heap.allocate(size: 8192 - FreeListHeap.headerSize, alignment: 16) != nil)
        expectConsistent(heap)
      }
    }
  }

  @Test func regionsThatTouchStayApart() {
    withHostMemory(bytes: 8192) { memory in
      var heap = FreeListHeap()
      // Added high half first, so the table has to keep them in address order.
      #expect(addRegion(&heap, memory + 4096, size: 4096))
      #expect(addRegion(&heap, memory, size: 4096))
      let pointers = (0..<8).compactMap { _ in heap.allocate(size: 1000, alignment: 16) }
      #expect(pointers.count == 8)
      for pointer in pointers.reversed() { mustFree(&heap, pointer) }
      expectConsistent(heap)
      #expect(heap.allocate(size: 8192 - FreeListHeap.headerSize, alignment: 16) == nil)
      #expect(heap.allocate(size: 4096 - FreeListHeap.headerSize, alignment: 16) != nil)
      #expect(heap.allocate(size: 4096 - FreeListHeap.headerSize, alignment: 16) != nil)
      expectConsistent(heap)
    }
  }

  @Test func overlappingRegionsAreRejected() {
    withHostMemory(bytes: 16384) { memory in
      var heap = FreeListHeap()
      #expect(addRegion(&heap, memory + 4096, size: 8192))
      #expect(!addRegion(&heap, memory + 4096, size: 8192))
      #expect(!addRegion(&heap, memory, size: 4097))
      #expect(!addRegion(&heap, memory + 8192, size: 100))
      #expect(!addRegion(&heap, memory + 12272, size: 4096))
      #expect(!addRegion(&heap, memory, size: 16384))
      #expect(heap.statistics.capacity == 8192)
      // Touching is not overlapping.
      #expect(addRegion(&heap, memory, size: 4096))
      #expect(addRegion(&heap, memory + 12288, size: 4096))
      #expect(heap.statistics.capacity == 16384)
      expectConsistent(heap)
    }
  }

  @Test func regionsTooSmallForABlockAreRejected() {
    withHostMemory(bytes: 4096) { memory in
      var heap = FreeListHeap()
      for size in [-4096, -1, 0, 1, 16, 31] {
        #expect(!addRegion(&heap, memory, size: size))
      }
      // 40 bytes from an odd address trim to less than one 32-byte block.
      #expect(!addRegion(&heap, memory + 1, size: 40))
      #expect(heap.statistics.capacity == 0)
      #expect(heap.allocate(size: 0, alignment: 1) == nil)
      // The smallest region that works holds one block of 16 bytes.
      #expect(addRegion(&heap, memory + 1, size: 47))
      #expect(heap.statistics.capacity == 32)
      #expect(heap.allocate(size: 16, alignment: 16) == memory + 32)
      #expect(heap.allocate(size: 0, alignment: 1) == nil)
      expectConsistent(heap)
    }
  }

  @Test func regionThatWrapsTheAddressSpaceIsRejected() {
    var heap = FreeListHeap()
    let top = UnsafeMutableRawPointer(bitPattern: UInt.max - 4095)!
    #expect(!addRegion(&heap, top, size: 8192))
    #expect(!addRegion(&heap, top, size: Int.max))
    #expect(heap.statistics.capacity == 0)
  }

  @Test func onlyMaximumRegionsAreAccepted() {
    let count = FreeListHeap.maximumRegions + 1
    withHostMemory(bytes: count * 4096) { memory in
      var heap = FreeListHeap()
      for index in 0..<FreeListHeap.maximumRegions {
        #expect(addRegion(&heap, memory + index * 4096, size: 4096))
      }
      #expect(!addRegion(&heap, memory + FreeListHeap.maximumRegions * 4096, size: 4096))
      #expect(heap.statistics.capacity == FreeListHeap.maximumRegions * 4096)
      expectConsistent(heap)
    }
  }
}
