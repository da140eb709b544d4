/// Every kept input of the virtio-net fuzz target goes through the target's path again in
/// every `make test`; the seeds get frames through both ways, and through a restart.
import FuzzSupport
import Testing

struct NetworkFuzzReplayTests {
  static func seed(_ name: String) -> NetworkFuzzing.Harness {
    NetworkFuzzing.run(FuzzCorpus.bytes(of: "virtio-net", "corpus/\(name)"))
  }

  @Test func theSeedsGetFramesThroughAndARestart() {
    let echo = Self.seed("echo")
    #expect(echo.received == 2 && echo.verifiedFrames == 4)
    let restart = Self.seed("restart")
    #expect(restart.driver.counters.resets == 2 && restart.driver.stopped == nil)
    #expect(restart.verifiedFrames >= 8)
  }

  @Test(arguments: FuzzCorpus.names(of: "virtio-net"))
  func replays(_ name: String) { NetworkFuzzing.run(FuzzCorpus.bytes(of: "virtio-net", name)) }
}
