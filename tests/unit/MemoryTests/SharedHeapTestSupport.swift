/// Helpers for the shared heap's tests: host memory for a heap, errors as values, entries.
import Memory
import Testing

/// The secret the tests' heaps mix into their headers' magic (the kernel draws one at boot).
let testSecret: UInt64 = 0x5EC2_E7A5_0F00_D1E5

/// Calls `body` with `bytes` of host memory filled with a pattern, so that no stale header
/// from an earlier test lingers in it.
func withFilledHostMemory<Result>(
  bytes: Int, _ body: (UnsafeMutableRawPointer) throws -> Result
) rethrows -> Result {
  try withHostMemory(bytes: bytes) { memory in
    memory.initializeMemory(as: UInt8.self, repeating: 0xA5, count: bytes)
    return try body(memory)
  }
}

/// Calls `body` with a shared heap over one region of `bytes` of filled host memory.
func withSharedHeap(
  bytes: Int, _ body: (inout SharedHeap, UnsafeMutableRawPointer, Int) -> Void
) {
  withFilledHostMemory(bytes: bytes) { memory in
    var heap = SharedHeap(secret: testSecret)
    let added = heap.addRegion(base: memory, size: bytes)
    precondition(added, "region rejected")
    body(&heap, memory, bytes)
  }
}

/// `heap.addRegion`, as a function `#expect` can call (see the `FreeListHeap` one).
func addRegion(_ heap: inout SharedHeap, _ base: UnsafeMutableRawPointer, size: Int) -> Bool {
  heap.addRegion(base: base, size: size)
}

/// The error `body` throws, or nil if it succeeds. (Host tests may throw untyped: a closure
/// passed here would otherwise need its thrown type spelled out.)
func sharedError(_ body: () throws -> Void) -> SharedHeapError? {
  do {
    try body()
    return nil
  } catch let error as SharedHeapError {
    return error
  } catch {
    Issue.record("unexpected error \(error)")
    return nil
  }
}

/// What `endBorrow` returns or throws.
func endBorrowResult(
  _ heap: inout SharedHeap, _ payload: UnsafeMutableRawPointer
) -> Result<Bool, SharedHeapError> {
  Result { () throws(SharedHeapError) in try heap.endBorrow(payload) }
}

/// The entry of `payload`, or nil if it is not a live payload.
func entryOf(_ heap: borrowing SharedHeap, _ payload: UnsafeMutableRawPointer)
  -> SharedAllocation?
{
  try? heap.entry(payload)
}

/// What each of `owners` holds.
func statistics(_ heap: borrowing SharedHeap, _ owners: [DomainOwner])
  -> [SharedOwnerStatistics]
{
  owners.map { heap.statistics(for: $0) }
}

/// Expects every checked call to refuse `pointer` as not shared and to change nothing.
func expectNotShared(
  _ heap: inout SharedHeap, _ pointer: UnsafeMutableRawPointer,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let notShared = SharedHeapError.notShared(address: UInt(bitPattern: pointer))
  let totals = heap.totals
  let errors = [
    sharedError { _ = try heap.entry(pointer) },
    sharedError { try heap.free(pointer, by: DomainOwner(1)) },
    sharedError { try heap.move(pointer, from: DomainOwner(1), to: DomainOwner(2)) },
    sharedError { try heap.borrow(pointer) },
    sharedError { _ = try heap.endBorrow(pointer) },
    sharedError { try heap.freeOrphan(pointer) },
    sharedError {
      try heap.adopt(pointer, by: DomainOwner(2), expectedTag: 0, from: DomainOwner(1))
    },
    sharedError { try heap.freeUndelivered(pointer, by: DomainOwner(1)) },
  ]
  #expect(
    errors.allSatisfy { $0 == notShared }, "\(pointer): \(errors)", sourceLocation: sourceLocation)
  let after = heap.totals
  #expect(after == totals, sourceLocation: sourceLocation)
  expectConsistent(heap, sourceLocation: sourceLocation)
}

/// Expects `heap.verify()` to pass.
func expectConsistent(
  _ heap: borrowing SharedHeap, sourceLocation: SourceLocation = #_sourceLocation
) {
  let consistent = heap.verify()
  #expect(consistent, "heap.verify() failed", sourceLocation: sourceLocation)
}
