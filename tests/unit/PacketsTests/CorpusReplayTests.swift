/// Every kept input of the frames fuzz target (its seeds and every input that ever made
/// it fail) goes through the target's own path again, in every `make test`.
import FuzzSupport
import Packets
import Testing

struct CorpusReplayTests {
  @Test func theCorpusIsThere() {
    #expect(FuzzCorpus.names(of: "frames").count >= 10, "tests/fuzz/corpus/frames holds the seeds")
  }

  /// The seeds reach where they are meant to: past checksums, through a DHCP exchange.
  @Test func theSeedsGetPastTheChecksums() {
    func stack(after name: String) -> NetworkStack? {
      FrameFuzzing.run(FuzzCorpus.bytes(of: "frames", "corpus/\(name)"))
    }
    #expect(stack(after: "dhcp-exchange")?.configuration != nil)
    #expect(stack(after: "ping")?.counters.totalDrops == 0)
    #expect(stack(after: "udp-then-arp")?.counters.totalDrops == 0)
    #expect(stack(after: "fragment")?.counters[.fragment] == 1)
  }

  @Test(arguments: FuzzCorpus.names(of: "frames"))
  func replays(_ name: String) {
    FrameFuzzing.run(FuzzCorpus.bytes(of: "frames", name))
  }
}
