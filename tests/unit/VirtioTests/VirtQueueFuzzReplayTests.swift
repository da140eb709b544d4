/// Every kept input of the virtqueue fuzz target goes through the target's path again in
/// every `make test`; the seeds get chains back, and a bogus used id refused.
import FuzzSupport
import Testing

struct VirtQueueFuzzReplayTests {
  static func seed(_ name: String) -> VirtQueueFuzzing.Model {
    VirtQueueFuzzing.run(FuzzCorpus.bytes(of: "virtqueue", "corpus/\(name)"))
  }

  @Test func theSeedsGetChainsBackAndABogusIDRefused() {
    let roundTrip = Self.seed("round-trip")
    #expect(roundTrip.given == 3 && !roundTrip.failed && roundTrip.returned.isEmpty)
    let bogus = Self.seed("bogus-id")
    #expect(bogus.given == 3 && bogus.failed)
  }

  @Test(arguments: FuzzCorpus.names(of: "virtqueue"))
  func replays(_ name: String) { VirtQueueFuzzing.run(FuzzCorpus.bytes(of: "virtqueue", name)) }
}
