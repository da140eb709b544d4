/// BootInfo.freeRanges: available memory less what the kernel keeps, in whole pages.
import BootInfo
import Testing

private func info(_ regions: [MemoryRegion]) -> BootInfo {
  BootInfo(
    bootProtocol: .multiboot1, bootLoaderName: "", commandLine: "", memoryMap: regions,
    modules: [], infoRanges: [])
}

private let qemuLike = info([
  MemoryRegion(start: 0, length: 0x9_fc00, kind: .available),
  MemoryRegion(start: 0x9_fc00, length: 0x400, kind: .reserved),
  MemoryRegion(start: 0x10_0000, length: 0xfee_0000, kind: .available),
  MemoryRegion(start: 0xfffc_0000, length: 0x4_0000, kind: .reserved),
  MemoryRegion(start: 0x1_0000_0000, length: 0x1000_0000, kind: .available),
])

@Suite struct FreeMemoryTests {
  @Test func availableRegionsTrimmedToPagesAndLimit() {
    #expect(
      qemuLike.freeRanges(excluding: [], below: 1 << 32) == [
        0..<0x9_f000, 0x10_0000..<0xffe_0000,
      ])
  }

  @Test func reservedRangesAreCutOutAndWidenedToPages() {
    let free = qemuLike.freeRanges(
      excluding: [0..<0x10_0000, 0x10_0000..<0x25_6001, 0x30_0800..<0x30_0900], below: 1 << 32)
    #expect(free == [0x25_7000..<0x30_0000, 0x30_1000..<0xffe_0000])
  }

  @Test func reservedRangeCoveringARegionRemovesIt() {
    let free = qemuLike.freeRanges(excluding: [0..<0x2000_0000], below: 1 << 32)
    #expect(free.isEmpty)
  }

  @Test func overlappingAndUnorderedReservationsGiveSortedPieces() {
    let free = qemuLike.freeRanges(
      excluding: [0x80_0000..<0x90_0000, 0x20_0000..<0x30_0000, 0x88_0000..<0xa0_0000],
      below: 0x100_0000)
    #expect(
      free == [0..<0x9_f000, 0x10_0000..<0x20_0000, 0x30_0000..<0x80_0000, 0xa0_0000..<0x100_0000])
  }

  @Test func nonAvailableKindsAreNeverFree() {
    let map = info([
      MemoryRegion(start: 0x10_0000, length: 0x10_0000, kind: .acpiReclaimable),
      MemoryRegion(start: 0x20_0000, length: 0x10_0000, kind: .defective),
    ])
    #expect(map.freeRanges(excluding: [], below: .max).isEmpty)
  }

  @Test func regionsAtTheTopOfTheAddressSpaceDoNotOverflow() {
    // The region's end saturates at UInt64.max; its last page is reserved, its first free.
    let map = info([MemoryRegion(start: .max - 0x1fff, length: 0x2000, kind: .available)])
    #expect(
      map.freeRanges(excluding: [(.max - 10)..<UInt64.max], below: .max) == [
        0xffff_ffff_ffff_e000..<0xffff_ffff_ffff_f000
      ])
  }
}
