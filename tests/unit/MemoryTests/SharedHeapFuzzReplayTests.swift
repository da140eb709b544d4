/// Every kept input of the shared-heap fuzz target goes through the target's path again
/// in every `make test`; the seeds adopt a deque, free an orphan, and get refused.
import FuzzSupport
import Testing

struct SharedHeapFuzzReplayTests {
  static func seed(_ name: String) -> SharedHeapFuzzing.Harness {
    SharedHeapFuzzing.run(FuzzCorpus.bytes(of: "shared-heap", "corpus/\(name)"))
  }

  @Test func theSeedsReachAdoptionsOrphansAndRefusals() {
    let deque = Self.seed("deque-adoption")
    #expect(deque.dequesAdopted == 1 && deque.orphansFreed == 1 && deque.tracked.count == 1)
    let moves = Self.seed("moves-and-refusals")
    #expect(moves.allowed == 3 && moves.refused == 2 && moves.tracked.count == 1)
  }

  @Test(arguments: FuzzCorpus.names(of: "shared-heap"))
  func replays(_ name: String) { SharedHeapFuzzing.run(FuzzCorpus.bytes(of: "shared-heap", name)) }
}
