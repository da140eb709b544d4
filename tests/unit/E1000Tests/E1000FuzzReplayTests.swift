/// Every kept input of the e1000 fuzz target goes through the target's path again in
/// every `make test`; the seeds get frames through both ways, and through a restart.
import FuzzSupport
import Testing

struct E1000FuzzReplayTests {
  static func seed(_ name: String) -> E1000Fuzzing.Harness? {
    E1000Fuzzing.run(FuzzCorpus.bytes(of: "e1000", "corpus/\(name)"))
  }

  @Test func theSeedsGetFramesThroughAndARestart() throws {
    let echo = try #require(Self.seed("echo"))
    #expect(echo.verifiedFrames == 4 && echo.driver.counters.receivedFrames == 2)
    let restart = try #require(Self.seed("eeprom-restart"))
    #expect(restart.restarts == 1 && restart.driver.counters.sentFrames == 2)
    #expect(restart.driver.counters.receivedFrames == 2 && restart.verifiedFrames >= 4)
  }

  @Test(arguments: FuzzCorpus.names(of: "e1000"))
  func replays(_ name: String) { E1000Fuzzing.run(FuzzCorpus.bytes(of: "e1000", name)) }
}
