/// Every kept input of the ELF fuzz target goes through the target's path again in every
/// `make test`; the seeds are valid images, so the fuzzer starts past validation.
import FuzzSupport
import Testing

struct ELFFuzzReplayTests {
  @Test func theSeedsAreValidImages() {
    let seeds = FuzzCorpus.names(of: "elf").filter { $0.hasPrefix("corpus/") }
    #expect(seeds.count >= 2)
    for seed in seeds { #expect(ELFFuzzing.run(FuzzCorpus.bytes(of: "elf", seed)), "\(seed)") }
  }

  @Test(arguments: FuzzCorpus.names(of: "elf"))
  func replays(_ name: String) { ELFFuzzing.run(FuzzCorpus.bytes(of: "elf", name)) }
}
