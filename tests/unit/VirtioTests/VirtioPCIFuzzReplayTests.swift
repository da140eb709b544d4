/// Every kept input of the virtio-pci fuzz target goes through the target's path again in
/// every `make test`; the seeds read a block through QEMU's layout, and are refused for
/// the ways a layout can be wrong.
import FuzzSupport
import Testing
import Virtio

struct VirtioPCIFuzzReplayTests {
  static func seed(_ name: String) -> VirtioPCIFuzzing.Outcome {
    VirtioPCIFuzzing.run(FuzzCorpus.bytes(of: "virtio-pci", "corpus/\(name)"))
  }

  @Test func theSeedsReadABlockOrSayWhyNot() {
    #expect(Self.seed("qemu-block") == .read(succeeded: true))
    #expect(
      Self.seed("no-device-configuration")
        == .driverRefused(.transport(.windowTooSmall(.deviceConfiguration))))
    #expect(
      Self.seed("registers-in-another-bar")
        == .transportRefused(.structureOutsideBAR(.deviceConfiguration)))
  }

  @Test(arguments: FuzzCorpus.names(of: "virtio-pci"))
  func replays(_ name: String) { VirtioPCIFuzzing.run(FuzzCorpus.bytes(of: "virtio-pci", name)) }
}
