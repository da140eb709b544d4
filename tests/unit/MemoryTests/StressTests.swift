/// A long random mix of allocations and frees, checking that no block ever overwrites
/// another and that the heap stays consistent throughout.
import Memory
import Testing

struct StressTests {
  @Test(arguments: [0x5EED_0001, 0xC0FF_EE42] as [UInt64])
  func randomAllocationsNeverOverlap(seed: UInt64) {
    let bytes = 1 << 20
    withHostMemory(bytes: bytes) { memory in
      var heap = makeHeap(memory, bytes: bytes)
      var random = XorShift(seed: seed)
      var live: [FilledBlock] = []
      var failures = 0

      for step in 0..<20_000 {
        let wantsMore = live.count < 400 && random.next(below: 100) < 55
        if live.isEmpty || wantsMore {
          let size =
            random.next(below: 20) == 0 ? random.next(below: 64 * 1024) : random.next(below: 600)
          let alignment = 1 << random.next(below: 13)
          guard let pointer = heap.allocate(size: size, alignment: alignment) else {
            failures += 1
            continue
          }
          let block = FilledBlock(pointer: pointer, size: size, seed: UInt64(step))
          guard isAligned(pointer, to: alignment),
            live.allSatisfy({ !$0.addresses.overlaps(block.addresses) })
          else {
            Issue.record("step \(step): bad block at \(pointer), \(size) bytes")
            return
          }
          block.fill()
          live.append(block)
        } else {
          let block = live.remove(at: random.next(below: live.count))
          guard block.isIntact else {
            Issue.record("step \(step): block at \(block.pointer) was overwritten")
            return
          }
          mustFree(&heap, block.pointer)
        }

        guard heap.verify() else {
          Issue.record("step \(step): heap inconsistent")
          return
        }
        if step % 1000 == 0 {
          #expect(live.allIntact, "step \(step)")
        }
      }

      #expect(heap.statistics.liveAllocations == live.count)
      #expect(heap.statistics.failedAllocations == failures)
      #expect(live.allIntact)
      for block in live { mustFree(&heap, block.pointer) }
      #expect(heap.statistics.bytesInUse == 0)
      #expect(heap.statistics.liveAllocations == 0)
      expectConsistent(heap)
      #expect(heap.allocate(size: bytes - FreeListHeap.headerSize, alignment: 16) != nil)
    }
  }
}
