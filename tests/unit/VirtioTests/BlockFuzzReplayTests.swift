/// Every kept input of the virtio-blk fuzz target goes through the target's path again in
/// every `make test`; the seeds get requests done, checked, and a lying device caught.
import FuzzSupport
import Testing
import Virtio

struct BlockFuzzReplayTests {
  static func seed(_ name: String) -> BlockFuzzing.Harness {
    BlockFuzzing.run(FuzzCorpus.bytes(of: "virtio-blk", "corpus/\(name)"))
  }

  @Test func theSeedsGetRequestsDoneAndCatchALie() {
    let reads = Self.seed("reads-and-flush")
    // Block 0 holds the failing sector: of three reads in the batch, two are checked.
    #expect(reads.completions == 5 && reads.verifiedReads == 3 && reads.honest)
    let lie = Self.seed("device-misbehaves")
    #expect(lie.completions == 2 && lie.verifiedReads == 1 && !lie.honest)
    #expect(lie.driver.stopped == .deviceMisbehaved(.deviceMisbehaved(.usedIDNotInFlight(5))))
  }

  @Test(arguments: FuzzCorpus.names(of: "virtio-blk"))
  func replays(_ name: String) { BlockFuzzing.run(FuzzCorpus.bytes(of: "virtio-blk", name)) }
}
