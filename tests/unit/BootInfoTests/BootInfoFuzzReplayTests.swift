/// Every kept input of the multiboot fuzz target goes through the target's path again in
/// every `make test`; the seeds parse, with modules, strings and a memory map, under
/// both protocols.
import FuzzSupport
import Testing

struct BootInfoFuzzReplayTests {
  @Test func theSeedsParseUnderBothProtocols() {
    let seeds = FuzzCorpus.names(of: "multiboot").filter { $0.hasPrefix("corpus/") }
    let parsed = seeds.compactMap { BootInfoFuzzing.run(FuzzCorpus.bytes(of: "multiboot", $0)) }
    #expect(parsed.count == seeds.count && seeds.count >= 3)
    #expect(Set(parsed.map(\.bootProtocol)).count == 2)
    #expect(parsed.contains { !$0.modules.isEmpty && !$0.commandLine.isEmpty })
  }

  @Test(arguments: FuzzCorpus.names(of: "multiboot"))
  func replays(_ name: String) { BootInfoFuzzing.run(FuzzCorpus.bytes(of: "multiboot", name)) }
}
