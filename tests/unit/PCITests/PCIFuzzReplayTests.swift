/// Every kept input of the PCI fuzz target goes through the target's path again in every
/// `make test`; the seeds probe cleanly, with BARs, capabilities and MSI-X.
import FuzzSupport
import Testing

struct PCIFuzzReplayTests {
  @Test func theSeedsProbeWithMSIX() {
    let seeds = FuzzCorpus.names(of: "pci").filter { $0.hasPrefix("corpus/") }
    #expect(seeds.count >= 2)
    let functions = seeds.flatMap { PCIFuzzing.run(FuzzCorpus.bytes(of: "pci", $0)) }
    #expect(functions.contains { $0.msix != nil && !$0.bars.isEmpty })
  }

  @Test(arguments: FuzzCorpus.names(of: "pci"))
  func replays(_ name: String) { PCIFuzzing.run(FuzzCorpus.bytes(of: "pci", name)) }
}
