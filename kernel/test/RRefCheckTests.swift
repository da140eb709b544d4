/// Tests of the checks on moves and loans: what generated code on the other side never
/// sends, sent anyway (as a hostile caller's or callee's glue would, if it could), is
/// refused by the kernel's adoption check or the callee's view check, runs nothing and
/// leaks nothing. The kernel plays the forger: it may use the unsafe operations.
import Memory
import SwiftletInterfaces
import SwiftletLib

enum RRefCheckTests {
  static var tests: [KernelTest] {
    [
      KernelTest("rref.adoption_checked_by_kernel", adoptionCheckedByKernel),
      KernelTest("rref.refused_argument_runs_nothing", refusedArgumentRunsNothing),
      KernelTest("rref.refused_deque_element_leaks_nothing", refusedDequeElementLeaksNothing),
    ]
  }

  /// Mailbox's arguments for one letter, moved or lent, as the generated struct has them.
  struct LetterArgument: BitwiseCopyable {
    var letter: RRefTransfer<RRef<Letter>>
  }

  struct BatchArgument: BitwiseCopyable {
    var batch: RRefTransfer<RRefDeque<Tally, 8>>
  }

  /// A transfer made from a number: what domain code can no longer do.
  static func forged<T: ~Copyable>(_ address: UInt, as type: T.Type = RRef<Letter>.self)
    -> RRefTransfer<T>
  {
    unsafeBitCast(address, to: RRefTransfer<T>.self)
  }

  /// Where the letter lies; the kernel owns the letters these tests make.
  static func address(_ letter: borrowing RRef<Letter>) -> UInt {
    unsafe letter.ownedStorage?.address ?? 0
  }

  static func isAdopted<T>(_ rref: consuming RRef<T>?) -> Bool { rref != nil }

  /// A result in transit from the crasher is adopted once, as its own type, from the
  /// slot that returned it, and not as another type, from another slot, outside a
  /// call, as anything but an allocation, or a second time.
  static func adoptionCheckedByKernel(_ t: inout TestContext) {
    guard case .success(let mailbox) = InterfaceHandle.connect("Mailbox"),
      case .success(let greeter) = InterfaceHandle.connect("Greeter")
    else {
      t.expect(false, "no Mailbox or Greeter")
      return
    }
    let before = SharedMemory.totals
    do {
      guard let letter = RRef(Letter(number: 1)), let other = RRef(Letter(number: 2)) else {
        t.expect(false, "shared heap full")
        return
      }
      var arguments = LetterArgument(letter: letter.transfer())
      guard
        case .success(let back) = SwiftletLib.DomainCall.invoke(
          mailbox, method: 1, &arguments, returning: RRefTransfer<RRef<Letter>>.self)
      else {
        t.expect(false, "bounce failed")
        return
      }
      let crasher = RRefSender.callee(mailbox, method: 1)
      let returned = unsafeBitCast(back, to: UInt.self)
      t.expect(
        !isAdopted(RRef<Tally>(adopting: forged(returned, as: RRef<Tally>.self), from: crasher)),
        "adopted as another type")
      t.expect(
        !isAdopted(RRef<Letter>(adopting: back, from: RRefSender.callee(greeter, method: 0))),
        "adopted from a slot whose domain did not send it")
      t.expect(
        !isAdopted(RRef<Letter>(adopting: back, from: RRefSender.caller)),
        "adopted as an argument outside any call")
      t.expect(
        !isAdopted(RRef<Letter>(adopting: forged(address(other) + 16), from: crasher)),
        "adopted an address inside an allocation")
      t.expect(
        !isAdopted(RRef<Letter>(adopting: forged(address(other)), from: crasher)),
        "adopted the kernel's own RRef, not in transit")
      guard let adopted = RRef<Letter>(adopting: back, from: crasher) else {
        t.expect(false, "the real result was refused")
        return
      }
      t.expect(
        adopted.owner == 0 && adopted.value.number == 1, "adopted, but owner \(adopted.owner)")
      t.expect(
        !isAdopted(RRef<Letter>(adopting: back, from: crasher)), "adopted a second time")
    }
    t.expect(
      SharedMemory.totals == before,
      "\(SharedMemory.totals.allocations - before.allocations) allocations leaked")
  }

  /// An argument that is not a move or not a loan (a lent RRef passed as moved, one never
  /// moved, one not lent passed as lent, one of another type): the entry point refuses
  /// the call, the service does not run, and the RRefs stay the kernel's.
  static func refusedArgumentRunsNothing(_ t: inout TestContext) {
    guard case .success(let mailbox) = InterfaceHandle.connect("Mailbox"),
      case .success(let crasher) = CrasherProxy.connect(),
      case .success(let served) = crasher.callsServed()
    else {
      t.expect(false, "no Mailbox")
      return
    }
    let before = SharedMemory.totals
    do {
      guard let letter = RRef(Letter(number: 3)), let tally = RRef(Tally(amount: 4)) else {
        t.expect(false, "shared heap full")
        return
      }
      var lent = LetterArgument(letter: letter.lend())
      let stamped = SwiftletLib.DomainCall.invoke(
        mailbox, method: 0, &lent, returning: RRefTransfer<RRef<Letter>>.self)
      letter.endLend()
      t.expect(stamped.error == .refused, "a lent letter was taken as moved")
      var kept = LetterArgument(letter: forged(address(letter)))
      t.expect(
        SwiftletLib.DomainCall.invoke(mailbox, method: 3, &kept, returning: Int.self).error
          == .refused,
        "a letter never moved was taken")
      var shown = LetterArgument(letter: forged(address(letter)))
      t.expect(
        SwiftletLib.DomainCall.invoke(mailbox, method: 2, &shown, returning: Letter.self).error
          == .refused,
        "a letter not lent was viewed")
      var wrongType = LetterArgument(
        letter: unsafeBitCast(tally.lend(), to: RRefTransfer<RRef<Letter>>.self))
      let inspected = SwiftletLib.DomainCall.invoke(
        mailbox, method: 2, &wrongType, returning: Letter.self)
      tally.endLend()
      t.expect(inspected.error == .refused, "a lent tally was viewed as a letter")
      t.expect(crasher.callsServed() == .success(served), "the service ran for a refused call")
      t.expect(
        letter.owner == 0 && letter.borrows == 0 && letter.value.number == 3,
        "the letter changed: owner \(letter.owner), \(letter.borrows) borrows")
    }
    t.expect(
      SharedMemory.totals == before,
      "\(SharedMemory.totals.allocations - before.allocations) allocations leaked")
  }

  /// A deque one of whose elements is not in transit: the counter adopts the ring and the
  /// others, then the refusal frees them; it never adds anything, keeps nothing, and the
  /// element it could not adopt is still the kernel's.
  static func refusedDequeElementLeaksNothing(_ t: inout TestContext) {
    guard case .success(let counter) = CounterProxy.connect(),
      case .success(let handle) = InterfaceHandle.connect("Counter"),
      let domain = DomainManager.lookup("counter"), case .success(let start) = counter.value()
    else {
      t.expect(false, "no Counter")
      return
    }
    let before = SharedMemory.totals
    guard let batch = RRefBatchTests.batch([1, 2, 3]) else {
      t.expect(false, "shared heap full")
      return
    }
    var arguments = BatchArgument(batch: batch.transfer())
    // The ring's second slot (a new ring starts at 0): 16 bytes of head and count, then
    // one address per slot.
    let ring = UnsafeMutableRawPointer(bitPattern: unsafeBitCast(arguments.batch, to: UInt.self))!
    let element = ring.load(fromByteOffset: 16 + 8, as: UInt.self)
    let payload = UnsafeMutableRawPointer(bitPattern: element)!
    payload.storeBytes(of: UInt32(0), toByteOffset: SharedHeap.stateOffset, as: UInt32.self)
    let outcome = SwiftletLib.DomainCall.invoke(
      handle, method: 2, &arguments, returning: RRefTransfer<RRefDeque<Tally, 8>>.self
    ) { arguments in
      RRefDeque<Tally, 8>.dropUndelivered(arguments.batch)
    }
    t.expect(outcome.error == .refused, "a deque with an element not moved was taken")
    t.expect(counter.value() == .success(start), "the counter added a refused batch")
    t.expect(
      SharedMemory.statistics(for: DomainOwner(UInt32(domain.id.rawValue))).allocations == 0,
      "the counter kept part of a refused batch")
    t.expect(
      SharedMemory.entry(payload)?.owner == DomainOwner(0),
      "the element that was not moved is not the kernel's")
    swiftletRRefFree(payload)
    t.expect(
      SharedMemory.totals == before,
      "\(SharedMemory.totals.allocations - before.allocations) allocations leaked")
  }
}
