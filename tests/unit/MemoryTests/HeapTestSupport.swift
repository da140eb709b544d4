/// Host memory standing in for physical memory, and small helpers the heap tests share.
import Memory
import Testing

/// Calls `body` with `bytes` of host memory, 4 KiB-aligned like the kernel's regions, and
/// frees the memory afterwards.
func withHostMemory<Result>(
  bytes: Int, _ body: (UnsafeMutableRawPointer) throws -> Result
) rethrows -> Result {
  let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
  defer { memory.deallocate() }
  return try body(memory)
}

/// A heap with one region: `bytes` at `memory`.
func makeHeap(_ memory: UnsafeMutableRawPointer, bytes: Int) -> FreeListHeap {
  var heap = FreeListHeap()
  let added = heap.addRegion(base: memory, size: bytes)
  precondition(added, "region rejected")
  return heap
}

/// `heap.addRegion`, as a function that `#expect` can call: the macro takes a method
/// call's receiver apart as a value, and a noncopyable heap cannot be.
func addRegion(_ heap: inout FreeListHeap, _ base: UnsafeMutableRawPointer, size: Int) -> Bool {
  heap.addRegion(base: base, size: size)
}

/// The error `free` throws for `pointer`, or nil if it succeeds.
func freeError(_ heap: inout FreeListHeap, _ pointer: UnsafeMutableRawPointer) -> HeapFreeError? {
  do {
    try heap.free(pointer)
    return nil
  } catch {
    return error
  }
}

/// Frees `pointer`, recording an issue if the heap refuses.
func mustFree(_ heap: inout FreeListHeap, _ pointer: UnsafeMutableRawPointer) {
  if let error = freeError(&heap, pointer) {
    Issue.record("free(\(pointer)) failed: \(error)")
  }
}

/// The size of the block an allocation of `size` bytes takes at 16-byte alignment: the
/// payload rounded up to 16 (at least 16), plus the header.
func blockSize(_ size: Int) -> Int {
  (max(size, 16) + 15) / 16 * 16 + FreeListHeap.headerSize
}

func isAligned(_ pointer: UnsafeMutableRawPointer, to alignment: Int) -> Bool {
  UInt(bitPattern: pointer) % UInt(alignment) == 0
}

/// A xorshift64 generator: the same seed gives the same run, so failures reproduce.
struct XorShift {
  private var state: UInt64

  init(seed: UInt64) {
    state = seed == 0 ? 1 : seed
  }

  mutating func next() -> UInt64 {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return state
  }

  /// A number in `0..<bound`.
  mutating func next(below bound: Int) -> Int {
    Int(next() % UInt64(bound))
  }
}

/// An allocation under test, filled with a pattern unique to it: word `i` of the block
/// holds `i` mixed with the block's seed, so neither another block's data nor a heap
/// header written into the block goes unnoticed. Filled and checked a word at a time, to
/// keep the stress test quick in debug builds.
struct FilledBlock {
  let pointer: UnsafeMutableRawPointer
  let size: Int
  let seed: UInt64

  var addresses: Range<UInt> {
    let start = UInt(bitPattern: pointer)
    return start..<(start + UInt(max(size, 1)))
  }

  func fill() {
    for word in 0..<size / 8 {
      pointer.storeBytes(of: expectedWord(word), toByteOffset: word * 8, as: UInt64.self)
    }
    for offset in size / 8 * 8..<size {
      pointer.storeBytes(of: expectedByte(at: offset), toByteOffset: offset, as: UInt8.self)
    }
  }

  /// Whether every byte still holds the pattern `fill` wrote.
  var isIntact: Bool {
    for word in 0..<size / 8
    where pointer.load(fromByteOffset: word * 8, as: UInt64.self) != expectedWord(word) {
      return false
    }
    return (size / 8 * 8..<size).allSatisfy {
      pointer.load(fromByteOffset: $0, as: UInt8.self) == expectedByte(at: $0)
    }
  }

  private func expectedWord(_ index: Int) -> UInt64 {
    (seed &+ UInt64(index)) &* 0x9E37_79B9_7F4A_7C15
  }

  private func expectedByte(at offset: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: expectedWord(offset / 8) >> (offset % 8 * 8))
  }
}

/// Expects `heap.verify()` to pass (see `addRegion` for why not `#expect(heap.verify())`).
func expectConsistent(
  _ heap: borrowing FreeListHeap, sourceLocation: SourceLocation = #_sourceLocation
) {
  let consistent = heap.verify()
  #expect(consistent, "heap.verify() failed", sourceLocation: sourceLocation)
}

extension [FilledBlock] {
  var allIntact: Bool { allSatisfy { $0.isIntact } }
}
