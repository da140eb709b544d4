/// Every input in tests/fuzz/corpus (the fuzzer's seeds and every input that ever made
/// it fail) goes through the fuzz target's own path again, in every `make test`.
import Foundation
import Packets
import Testing

private let corpus = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("fuzz/corpus")

struct CorpusReplayTests {
  static var inputs: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? [])
      .filter { !$0.hasPrefix(".") }.sorted()
  }

  @Test func theCorpusIsThere() {
    #expect(Self.inputs.count >= 10, "tests/fuzz/corpus holds the fuzzer's inputs")
  }

  /// The seeds reach where they are meant to: past checksums, through a DHCP exchange.
  @Test func theSeedsGetPastTheChecksums() throws {
    func stack(after name: String) throws -> NetworkStack? {
      let path = corpus.appendingPathComponent(name).path
      return FrameFuzzing.run(Array(try #require(FileManager.default.contents(atPath: path))))
    }
    #expect(try stack(after: "seed-dhcp-exchange")?.configuration != nil)
    #expect(try stack(after: "seed-ping")?.counters.totalDrops == 0)
    #expect(try stack(after: "seed-udp-then-arp")?.counters.totalDrops == 0)
    #expect(try stack(after: "seed-fragment")?.counters[.fragment] == 1)
  }

  @Test(arguments: inputs)
  func replays(_ name: String) throws {
    let data = try #require(
      FileManager.default.contents(atPath: corpus.appendingPathComponent(name).path))
    FrameFuzzing.run(Array(data))
  }
}
