/// Tests of RRefs across calls: who owns a moved or lent RRef during and after a call,
/// and what a crash does to each.
import Memory
import SwiftletInterfaces
import SwiftletLib

enum RRefTests {
  static var tests: [KernelTest] {
    [
      KernelTest("rref.value_in_place", valueInPlace),
      KernelTest("rref.move_changes_owner", moveChangesOwner),
      KernelTest("rref.borrow_keeps_owner", borrowKeepsOwner),
      KernelTest("rref.lent_survives_borrower_crash", lentSurvivesBorrowerCrash),
      KernelTest("rref.owned_by_crashed_domain_freed", ownedByCrashedDomainFreed),
      KernelTest("rref.array_in_place", arrayInPlace),
      KernelTest("rref.deque_fifo_and_full", dequeFIFOAndFull),
    ]
  }

  static var crasherID: UInt32 { UInt32(DomainManager.lookup("crasher")?.id.rawValue ?? -1) }

  static func valueInPlace(_ t: inout TestContext) {
    let before = SharedMemory.totals
    do {
      guard let letter = RRef(Letter(number: 7)) else {
        t.expect(false, "shared heap full")
        return
      }
      letter.value.number += 35
      t.expect(letter.value.number == 42, "value \(letter.value.number), expected 42")
      t.expect(
        letter.owner == 0 && letter.borrows == 0, "a new RRef is not the kernel's, unborrowed")
      t.expect(SharedMemory.totals.allocations == before.allocations + 1, "not registered")
    }
    t.expect(SharedMemory.totals == before, "dropping the RRef did not free it")
  }

  static func moveChangesOwner(_ t: inout TestContext) {
    guard case .success(let mailbox) = MailboxProxy.connect(), let letter = RRef(Letter(number: 1))
    else {
      t.expect(false, "no Mailbox or no shared memory")
      return
    }
    switch mailbox.stamp(letter) {
    case .success(let back):
      t.expect(
        back.value.ownerSeen == crasherID,
        "owner during the call was \(back.value.ownerSeen), not the callee \(crasherID)")
      t.expect(back.owner == 0, "owner after the call is \(back.owner), not the caller")
      t.expect(back.value.number == 2, "the callee's write was lost")
    case .failure:
      t.expect(false, "stamp failed")
    }
  }

  static func borrowKeepsOwner(_ t: inout TestContext) {
    guard case .success(let mailbox) = MailboxProxy.connect(), let letter = RRef(Letter(number: 5))
    else {
      t.expect(false, "no Mailbox or no shared memory")
      return
    }
    guard case .success(let seen) = mailbox.inspect(letter) else {
      t.expect(false, "inspect failed")
      return
    }
    t.expect(seen.number == 5, "the callee read \(seen.number)")
    t.expect(seen.ownerSeen == 0, "the owner changed to \(seen.ownerSeen) during a borrow")
    t.expect(seen.borrowsSeen == 1, "the borrow count during the call was \(seen.borrowsSeen)")
    t.expect(
      letter.borrows == 0 && letter.owner == 0,
      "after the call: \(letter.borrows) borrows, owner \(letter.owner)")
  }

  static func lentSurvivesBorrowerCrash(_ t: inout TestContext) {
    guard case .success(let mailbox) = MailboxProxy.connect(), let letter = RRef(Letter(number: 9))
    else {
      t.expect(false, "no Mailbox or no shared memory")
      return
    }
    let result = mailbox.crashWhileBorrowing(letter)
    t.expect(result.error == .domainCrashed, "the borrower did not crash")
    t.expect(letter.borrows == 0, "\(letter.borrows) borrows left after the borrower crashed")
    t.expect(letter.owner == 0, "owner is \(letter.owner) after the borrower crashed")
    letter.value.number += 1
    t.expect(letter.value.number == 10, "the letter is not usable after the crash")
    TestDomains.restart("crasher")
  }

  static func arrayInPlace(_ t: inout TestContext) {
    let before = SharedMemory.totals
    do {
      guard let array = RRefArray<Int, 16>(repeating: 3) else {
        t.expect(false, "shared heap full")
        return
      }
      for index in 0..<array.count { array[index] += index }
      t.expect(array[15] == 18 && array[0] == 3, "values \(array[0]), \(array[15])")
      t.expect(SharedMemory.totals.allocations == before.allocations + 1, "not one allocation")
      t.expect(array.owner == 0, "not the kernel's")
    }
    t.expect(SharedMemory.totals == before, "dropping the array did not free it")
  }

  /// Pushes hand back the element when full; pops come out in order; dropping the deque
  /// frees what is left in it.
  static func dequeFIFOAndFull(_ t: inout TestContext) {
    let before = SharedMemory.totals
    do {
      guard let deque = RRefDeque<Letter, 4>() else {
        t.expect(false, "shared heap full")
        return
      }
      for number in 0..<4 {
        guard let letter = RRef(Letter(number: number)) else { return }
        t.expect(deque.pushBack(letter) == nil, "push \(number) refused below capacity")
      }
      t.expect(deque.isFull && deque.count == 4, "count \(deque.count)")
      guard let extra = RRef(Letter(number: 99)) else { return }
      guard let handedBack = deque.pushBack(extra) else {
        t.expect(false, "a full deque took a fifth element")
        return
      }
      t.expect(handedBack.value.number == 99, "handed back the wrong letter")
      t.expect(
        deque.popFront()?.value.number == 0 && deque.popFront()?.value.number == 1,
        "not first in, first out")
      guard let letter = RRef(Letter(number: 4)) else { return }
      t.expect(deque.pushBack(letter) == nil, "no room after two pops")
      t.expect(
        SharedMemory.totals.allocations == before.allocations + 5,
        "deque and four letters (plus the handed-back one) expected")
    }
    t.expect(
      SharedMemory.totals == before,
      "dropping the deque leaked \(SharedMemory.totals.allocations - before.allocations) allocations"
    )
  }

  static func ownedByCrashedDomainFreed(_ t: inout TestContext) {
    guard case .success(let mailbox) = MailboxProxy.connect(),
      let kept = RRef(Letter(number: 3)), let lent = RRef(Letter(number: 4))
    else {
      t.expect(false, "no Mailbox or no shared memory")
      return
    }
    let owner = DomainOwner(crasherID)
    _ = mailbox.keep(kept)
    t.expect(
      SharedMemory.statistics(for: owner).allocations == 1, "the kept letter is not the crasher's")
    // Crash while the other letter is lent to it: the kept one goes, the lent one stays.
    t.expect(mailbox.crashWhileBorrowing(lent).error == .domainCrashed, "no crash")
    t.expect(
      SharedMemory.statistics(for: owner) == SharedOwnerStatistics(allocations: 0, bytes: 0),
      "the crashed domain's letter was not freed")
    t.expect(lent.owner == 0 && lent.value.number == 4, "the lent letter was lost")
    TestDomains.restart("crasher")
  }
}
