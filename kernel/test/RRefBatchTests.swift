/// Tests of RRefDeques and RRefArrays across calls: a moved deque and every element in it
/// belong to the callee during the call and to the caller after it; a crash frees what
/// the callee held and nothing the caller holds; nothing leaks.
import Memory
import SwiftletInterfaces
import SwiftletLib

enum RRefBatchTests {
  static var tests: [KernelTest] {
    [
      KernelTest("rref.deque_moves_across_call", dequeMovesAcrossCall),
      KernelTest("rref.deque_freed_with_crashed_callee", dequeFreedWithCrashedCallee),
      KernelTest("rref.deque_undelivered_is_freed", dequeUndeliveredIsFreed),
      KernelTest("rref.array_lent_across_call", arrayLentAcrossCall),
    ]
  }

  /// A deque of tallies with these amounts, or nil if the shared heap is full.
  static func batch(_ amounts: [Int]) -> RRefDeque<Tally, 8>? {
    guard let batch = RRefDeque<Tally, 8>() else { return nil }
    for amount in amounts {
      guard let tally = RRef(Tally(amount: amount)), batch.pushBack(tally) == nil else {
        return nil
      }
    }
    return batch
  }

  static func counterOwner(_ domain: Domain) -> DomainOwner {
    DomainOwner(UInt32(domain.id.rawValue))
  }

  /// The batch goes to the counter and comes back: each tally was the counter's during
  /// the call (it wrote the owner it saw) and is the kernel's again after it.
  static func dequeMovesAcrossCall(_ t: inout TestContext) {
    guard case .success(let counter) = CounterProxy.connect(),
      let domain = DomainManager.lookup("counter"), case .success(let start) = counter.value()
    else {
      t.expect(false, "no Counter")
      return
    }
    let before = SharedMemory.totals
    do {
      guard let batch = batch([1, 2, 3, 4, 5]) else {
        t.expect(false, "shared heap full")
        return
      }
      t.expect(
        SharedMemory.totals.allocations == before.allocations + 6,
        "a deque and five tallies are not six allocations")
      guard case .success(let back) = counter.addBatch(batch) else {
        t.expect(false, "addBatch failed")
        return
      }
      t.expect(back.owner == 0, "the deque is \(back.owner)'s after the call, not the kernel's")
      t.expect(back.count == 5, "\(back.count) tallies came back, not 5")
      t.expect(
        SharedMemory.statistics(for: counterOwner(domain)).allocations == 0,
        "the counter still owns something after giving the batch back")
      var expected = start
      for amount in 1...5 {
        guard let tally = back.popFront() else { break }
        expected += amount
        t.expect(
          tally.value.ownerSeen == UInt32(domain.id.rawValue),
          "tally \(amount) was \(tally.value.ownerSeen)'s during the call, not the counter's")
        t.expect(tally.owner == 0, "tally \(amount) is \(tally.owner)'s after the call")
        t.expect(
          tally.value.amount == amount && tally.value.total == expected,
          "tally \(amount) came back as \(tally.value.amount) with total \(tally.value.total)")
      }
    }
    t.expect(
      SharedMemory.totals == before,
      "\(SharedMemory.totals.allocations - before.allocations) allocations leaked")
  }

  /// A tally that overflows the counter crashes it mid-batch: the deque and every tally
  /// (in the ring or in the callee's hands) are freed with it; an RRef the kernel kept
  /// is untouched.
  static func dequeFreedWithCrashedCallee(_ t: inout TestContext) {
    guard case .success(let counter) = CounterProxy.connect(),
      let domain = DomainManager.lookup("counter"), let kept = RRef(Tally(amount: 7))
    else {
      t.expect(false, "no Counter")
      return
    }
    TestDomains.settle("counter")
    _ = counter.increment(by: 1)
    let before = SharedMemory.totals
    guard let batch = batch([1, Int.max, 2]) else {
      t.expect(false, "shared heap full")
      return
    }
    let error = failure(counter.addBatch(batch))
    t.expect(error == .domainCrashed, "an overflowing batch gave \(describe(error))")
    t.expect(domain.state == .crashed, "the counter did not crash")
    t.expect(
      SharedMemory.statistics(for: counterOwner(domain)).allocations == 0,
      "the crashed counter's batch was not freed")
    t.expect(
      SharedMemory.totals == before,
      "\(SharedMemory.totals.allocations - before.allocations) allocations outlived the crash")
    t.expect(
      kept.owner == 0 && kept.borrows == 0 && kept.value.amount == 7,
      "the kernel's own tally changed")
    t.expect(counter.recover() && counter.value() == .success(0), "no fresh counter")
  }

  /// A batch moved into a call to a stopped counter never reaches it: the proxy frees the
  /// deque and its tallies.
  static func dequeUndeliveredIsFreed(_ t: inout TestContext) {
    guard case .success(let counter) = CounterProxy.connect(),
      let domain = DomainManager.lookup("counter")
    else {
      t.expect(false, "no Counter")
      return
    }
    DomainManager.destroy(domain)
    let before = SharedMemory.totals
    if let batch = batch([1, 2]) {
      let error = failure(counter.addBatch(batch))
      t.expect(error == .unavailable, "a stopped counter gave \(describe(error))")
    }
    t.expect(
      SharedMemory.totals == before,
      "\(SharedMemory.totals.allocations - before.allocations) undelivered allocations leaked")
    t.expect(DomainManager.restart(domain).isSuccess, "the counter did not start again")
  }

  /// A lent array is read in place by the callee and stays the kernel's, unborrowed after.
  static func arrayLentAcrossCall(_ t: inout TestContext) {
    guard case .success(let counter) = CounterProxy.connect(),
      let amounts = RRefArray<Int, 8>(repeating: 0)
    else {
      t.expect(false, "no Counter or no shared memory")
      return
    }
    for index in 0..<amounts.count { amounts[index] = index + 1 }
    let result = counter.sum(of: amounts)
    t.expect(result == .success(36), "the sum came back as \(DomainTests.describe(result))")
    t.expect(
      amounts.owner == 0 && amounts.borrows == 0,
      "after the call: owner \(amounts.owner), \(amounts.borrows) borrows")
  }

  /// The error a batch call failed with; nil if it succeeded (the batch is dropped).
  static func failure(_ result: consuming Result<RRefDeque<Tally, 8>, RpcError>) -> RpcError? {
    switch consume result {
    case .success: nil
    case .failure(let error): error
    }
  }

  static func describe(_ error: RpcError?) -> TextLine {
    DomainTests.describe(error.map { .failure($0) } ?? Result<Void, RpcError>.success(()))
  }
}
