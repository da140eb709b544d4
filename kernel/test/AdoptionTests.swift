/// Tests of the kernel's side of moving an RRef across a call: `swiftlet_rref_adopt` asks
/// the registry, with the other side of the call as the kernel knows it, and
/// `swiftlet_rref_free_undelivered` takes back only what was never adopted. (The registry's
/// every refusal is unit-tested on the host: tests/unit/MemoryTests.)
import Memory
import SwiftletInterfaces
import SwiftletLib

enum AdoptionTests {
  static var tests: [KernelTest] {
    [
      KernelTest("adoption.checked_against_the_call", checkedAgainstTheCall),
      KernelTest("adoption.undelivered_and_crashed_moves_leak_nothing", nothingLeaks),
    ]
  }

  static let tag: UInt64 = 16 << 16 | 16

  /// A payload `domain` allocated and moved into a call (its library marks it in
  /// transit), as the domain would have made it: allocated while running as it.
  static func sent(by domain: DomainID) -> UnsafeMutableRawPointer? {
    let previous = DomainCall.currentDomain
    DomainCall.currentDomain = domain
    let payload = swiftletRRefAllocate(16, 16, tag)
    DomainCall.currentDomain = previous
    if let payload { SharedHeap.unsafeMarkInTransit(payload) }
    return payload
  }

  /// The kernel takes a result from `crasher` through one of its slots: refused from any
  /// other side, of another type, or a second time; done once, charging the kernel.
  static func checkedAgainstTheCall(_ t: inout TestContext) {
    guard let crasher = DomainManager.lookup("crasher"), let hello = DomainManager.lookup("hello"),
      let crasherSlot = crasher.exportSlots.first?.slot,
      let helloSlot = hello.exportSlots.first?.slot,
      let payload = sent(by: crasher.id)
    else {
      t.expect(false, "no crasher, hello or payload")
      return
    }
    // A domain image importing them is bound to these very functions.
    for name in ["swiftlet_rref_adopt", "swiftlet_rref_free_undelivered"] {
      t.expect(SystemInterface().address(of: name) != nil, "\(name) is not in the system interface")
    }
    let charged = SharedMemory.accountedBytes(of: crasher.id)
    let refusals: [(TextLine, Int32)] = [
      ("as an argument, outside any call", swiftletRRefAdopt(payload, tag, -1)),
      ("through no slot", swiftletRRefAdopt(payload, tag, Int64(DomainCall.exportSlots))),
      ("from hello", swiftletRRefAdopt(payload, tag, Int64(helloSlot))),
      ("as another type", swiftletRRefAdopt(payload, tag + 1, Int64(crasherSlot))),
      ("inside the payload", swiftletRRefAdopt(payload + 16, tag, Int64(crasherSlot))),
      ("from nowhere", swiftletRRefAdopt(nil, tag, Int64(crasherSlot))),
    ]
    for (what, status) in refusals { t.expect(status != 0, "adopted \(what)") }
    let entry = SharedMemory.entry(payload)
    t.expect(
      entry?.owner == SharedMemory.owner(crasher.id) && entry?.isInTransit == true,
      "a refused adoption changed the entry")

    t.expect(swiftletRRefAdopt(payload, tag, Int64(crasherSlot)) == 0, "the result was refused")
    let adopted = SharedMemory.entry(payload)
    t.expect(
      adopted?.owner == .kernel && adopted?.isInTransit == false, "the kernel does not own it")
    t.expect(
      SharedMemory.accountedBytes(of: crasher.id) < charged, "crasher is still charged for it")
    t.expect(swiftletRRefAdopt(payload, tag, Int64(crasherSlot)) != 0, "adopted twice")
    t.expect(swiftletRRefFreeUndelivered(payload) != 0, "an adopted payload went back")
    swiftletRRefFree(payload)
    t.expect(SharedMemory.entry(payload) == nil, "not freed")
  }

  /// What a call never took goes back to its sender, once; what a crashed sender had in
  /// transit is freed with it, and a late adoption is refused.
  static func nothingLeaks(_ t: inout TestContext) {
    guard case .success(let crasher) = CrasherProxy.connect(),
      let domain = DomainManager.lookup("crasher")
    else {
      t.expect(false, "no Crasher")
      return
    }
    TestDomains.settle("crasher")
    let before = SharedMemory.totals
    if let undelivered = sent(by: .kernel) {
      t.expect(swiftletRRefFreeUndelivered(undelivered) == 0, "the undelivered payload stayed")
      t.expect(swiftletRRefFreeUndelivered(undelivered) != 0, "freed twice")
    }
    guard let inTransit = sent(by: domain.id), let slot = domain.exportSlots.first?.slot else {
      t.expect(false, "no payload")
      return
    }
    t.expect(crasher.crash(.swiftTrap).error == .domainCrashed, "crasher did not crash")
    t.expect(SharedMemory.entry(inTransit) == nil, "the crashed sender's payload is still there")
    t.expect(swiftletRRefAdopt(inTransit, tag, Int64(slot)) != 0, "adopted from the dead")
    t.expect(
      SharedMemory.totals == before,
      "\(SharedMemory.totals.allocations - before.allocations) allocations left behind")
    t.expect(crasher.recover(), "crasher did not restart")
  }
}
