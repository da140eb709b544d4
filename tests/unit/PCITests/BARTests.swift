/// BARs: every kind, sizing by the all-ones readback, and what a broken one reports.
import Testing

@testable import PCI

@Suite struct BARTests {
  func probe(_ function: FakeFunction, count: Int = 6) throws(PCIError) -> [BaseAddressRegister] {
    try BaseAddressRegister.probeAll(in: singleFunction(function).1, count: count)
  }

  @Test func everyKind() throws {
    let function = FakeFunction()
      .bar(0, .io, size: 0x80, base: 0xC000)
      .bar(1, .memory32, size: 0x1000, base: 0xFEBF_1000)
      .bar(2, .memory32, size: 0x100_0000, base: 0xFD00_0000, prefetchable: true)
      .bar(4, .memory64, size: 0x4000, base: 0xFE00_0000, prefetchable: true)
    let bars = try probe(function)
    #expect(
      bars == [
        BaseAddressRegister(index: 0, kind: .io, base: 0xC000, size: 0x80),
        BaseAddressRegister(index: 1, kind: .memory32, base: 0xFEBF_1000, size: 0x1000),
        BaseAddressRegister(
          index: 2, kind: .memory32, prefetchable: true, base: 0xFD00_0000, size: 0x100_0000),
        BaseAddressRegister(
          index: 4, kind: .memory64, prefetchable: true, base: 0xFE00_0000, size: 0x4000),
      ])
    #expect(bars[3].description == "BAR4 mem64 prefetchable 0xfe000000 size 0x4000")
    #expect(bars[0].description == "BAR0 io 0xc000 size 0x80")
  }

  @Test func sixtyFourBitBARsAboveFourGiBAndHuge() throws {
    let function = FakeFunction()
      .bar(0, .memory64, size: 0x2_0000_0000, base: 0x80_0000_0000, prefetchable: true)
      .bar(2, .memory64, size: 0x10, base: 0x1_2345_6780)
    let bars = try probe(function)
    #expect(bars.count == 2)
    #expect(bars[0].base == 0x80_0000_0000 && bars[0].size == 0x2_0000_0000)
    #expect(bars[0].range.upperBound == 0x82_0000_0000)
    #expect(bars[1].index == 2 && bars[1].base == 0x1_2345_6780 && bars[1].size == 0x10)
  }

  @Test func ioBARsDecodingSixteenOrThirtyTwoBits() throws {
    let function = FakeFunction()
      .bar(0, .io, size: 4, base: 0x1F0)
      .bar(1, .io, size: 0x100, base: 0x1_0000, ioDecodes32Bits: true)
    let bars = try probe(function)
    #expect(bars.map(\.size) == [4, 0x100] && bars.map(\.base) == [0x1F0, 0x1_0000])
    #expect(bars.allSatisfy { $0.kind == .io && !$0.prefetchable })
  }

  @Test func unimplementedBARsAreSkipped() throws {
    let function = FakeFunction().bar(3, .memory32, size: 0x20)
    let bars = try probe(function)
    #expect(bars == [BaseAddressRegister(index: 3, kind: .memory32, base: 0, size: 0x20)])
    #expect(!bars[0].isAssigned)
    #expect(try probe(FakeFunction()).isEmpty)
  }

  @Test func sizingPutsEverythingBackWithDecodingOff() throws {
    let function = FakeFunction()
      .bar(0, .io, size: 0x40, base: 0xC040)
      .bar(1, .memory64, size: 0x2000, base: 0x1_0000_2000)
    function.set16(0x04, 0x0407)
    let before = function.bytes
    _ = try probe(function)
    #expect(function.bytes == before)
    #expect(!function.commandDuringBARWrites.isEmpty)
    #expect(function.commandDuringBARWrites.allSatisfy { $0 & 0x3 == 0 && $0 & 0x404 == 0x404 })
  }

  @Test func legacyBelowOneMiBTypeIsThirtyTwoBit() throws {
    let function = FakeFunction().bar(0, .memory32, size: 0x1000, base: 0xD0000)
    function.set32(0x10, function.get32(0x10) | 0x2)
    #expect(try probe(function).first?.kind == .memory32)
  }

  @Test func reservedMemoryType() {
    let function = FakeFunction().bar(2, .memory32, size: 0x1000)
    function.set32(0x18, 0x6)
    #expect(throws: PCIError.reservedMemoryType(origin, bar: 2)) { try probe(function) }
    #expect(
      PCIError.reservedMemoryType(origin, bar: 2).message
        == "pci 00:04.0: BAR2 has the reserved memory type 0b11")
  }

  @Test func sixtyFourBitBARInTheLastSlot() {
    let function = FakeFunction().bar(5, .memory32, size: 0x1000)
    function.set32(0x24, 0x4)
    #expect(throws: PCIError.sixtyFourBitBARInLastSlot(origin, bar: 5)) { try probe(function) }
    // A bridge has two BARs: BAR1 is its last.
    let bridge = FakeFunction(headerType: 1).bar(1, .memory32, size: 0x1000)
    bridge.set32(0x14, 0x4)
    #expect(throws: PCIError.sixtyFourBitBARInLastSlot(origin, bar: 1)) {
      try probe(bridge, count: 2)
    }
  }

  @Test func malformedSizeMasks() {
    let holes = FakeFunction().bar(0, .memory32, size: 0x1000)
    holes.writableBits[0x10] = 0xFF0F_F000
    #expect(throws: PCIError.nonContiguousSizeMask(origin, bar: 0, readback: 0xFF0F_F000)) {
      try probe(holes)
    }
    let partialIO = FakeFunction().bar(0, .io, size: 0x40)
    partialIO.writableBits[0x10] = 0x00FF_FFC0
    #expect(throws: PCIError.nonContiguousSizeMask(origin, bar: 0, readback: 0x00FF_FFC0)) {
      try probe(partialIO)
    }
  }

  @Test func misalignedAndWrappingBases() {
    #expect(
      throws: PCIError.misalignedBAR(origin, bar: 0, base: 0xFEBF_1010, size: 0x1000)
    ) {
      try BaseAddressRegister.decode(
        index: 0, at: origin, original: 0xFEBF_1010, readback: 0xFFFF_F000)
    }
    // An I/O BAR decoding 16 bits whose base claims more.
    #expect(throws: PCIError.barWraps(origin, bar: 3, base: 0x1_0000, size: 0x100)) {
      try BaseAddressRegister.decode(index: 3, at: origin, original: 0x1_0001, readback: 0xFF01)
    }
  }

  /// Found by the PCI fuzz target (tests/fuzz/regressions/pci): a 64-bit BAR whose last
  /// byte is the address space's last passed decoding, and the kernel's BAR placement
  /// then trapped working out where it ends.
  @Test func aSixtyFourBitBARReachingTheTopIsRefused() {
    let top = FakeFunction().bar(0, .memory64, size: 0x1000, base: 0xFFFF_FFFF_FFFF_F000)
    #expect(
      throws: PCIError.barWraps(origin, bar: 0, base: 0xFFFF_FFFF_FFFF_F000, size: 0x1000)
    ) { try probe(top) }
    // One page lower, it ends at a number, and is taken.
    let below = FakeFunction().bar(0, .memory64, size: 0x1000, base: 0xFFFF_FFFF_FFFF_E000)
    #expect(throws: Never.self) { try probe(below) }
  }

  @Test func assigningWritesBothHalves() throws {
    let function = FakeFunction().bar(0, .memory64, size: 0x4000, prefetchable: true).bar(
      2, .io, size: 0x20)
    let space = singleFunction(function).1
    let bars = try BaseAddressRegister.probeAll(in: space, count: 6)
    let memory = bars[0].assign(0x1_E000_4000, in: space)
    let io = bars[1].assign(0xC020, in: space)
    #expect(memory.base == 0x1_E000_4000 && io.base == 0xC020)
    #expect(try BaseAddressRegister.probeAll(in: space, count: 6) == [memory, io])
    #expect(function.get32(0x10) & 0xF == 0xC)  // type and prefetchable bits survive
  }
}
