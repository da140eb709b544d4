/// Tests of `ArrayWindow`, `WindowSlice`, and the regions `DMAMemory` gives devices.
import Registers
import Testing

struct WindowTests {
  @Test func valuesAreLittleEndian() {
    let window = ArrayWindow(byteCount: 16)
    window.store32(0x1122_3344, at: 4)
    #expect(window.bytes[4...7] == [0x44, 0x33, 0x22, 0x11])
    #expect(window.load16(at: 4) == 0x3344)
    #expect(window.load8(at: 7) == 0x11)
    window.store64(0x0102_0304_0506_0708, at: 8)
    #expect(window.load64(at: 8) == 0x0102_0304_0506_0708)
    #expect(window.load32(at: 12) == 0x0102_0304)
  }

  @Test func accessesAreCheckedForRangeAndAlignment() {
    let window = ArrayWindow(byteCount: 16)
    #expect(window.isValidAccess(at: 12, width: 4))
    #expect(!window.isValidAccess(at: 14, width: 4))
    #expect(!window.isValidAccess(at: 16, width: 1))
    #expect(!window.isValidAccess(at: -2, width: 2))
    #expect(!window.isValidAccess(at: 2, width: 4))
    #expect(!window.isValidAccess(at: Int.max - 1, width: 2))
    #expect(!ArrayWindow(byteCount: 2).isValidAccess(at: 0, width: 4))
  }

  @Test func aSliceReachesOnlyItsRange() throws {
    let window = ArrayDMAMemory(byteCount: 64, deviceAddress: 0x10_0000)
    let slice = try #require(window.slice(start: 16, count: 16))
    slice.store32(0xAABB_CCDD, at: 12)
    #expect(window.load32(at: 28) == 0xAABB_CCDD)
    #expect(slice.byteCount == 16)
    #expect(!slice.isValidAccess(at: 16, width: 4))
    #expect(slice.dmaRegion == DMARegion(vouchedAddress: 0x10_0010, byteCount: 16))
    #expect(slice.dmaRegion(at: 8, count: 8) == DMARegion(vouchedAddress: 0x10_0018, byteCount: 8))
    #expect(window.slice(start: 60, count: 8) == nil)
    #expect(window.slice(start: -4, count: 8) == nil)
    #expect(window.slice(start: 0, count: -1) == nil)
  }

  @Test func regionsCountFromTheMemoryAndStayInsideIt() {
    let memory = ArrayDMAMemory(byteCount: 4096, deviceAddress: 0x8000_0000)
    #expect(memory.dmaRegion == DMARegion(vouchedAddress: 0x8000_0000, byteCount: 4096))
    let last = memory.dmaRegion(at: 4095, count: 1)
    #expect(last.address == 0x8000_0FFF && last.byteCount == 1)
    #expect(memory.contains(offset: 4000, count: 96))
    #expect(!memory.contains(offset: 4000, count: 97))
    let region = memory.dmaRegion
    #expect(region.subregion(at: 4000, count: 96)?.address == 0x8000_0FA0)
    #expect(region.subregion(at: 4000, count: 97) == nil)
    #expect(region.subregion(at: -1, count: 1) == nil)
    #expect(region.subregion(at: 0, count: -1) == nil)
    #expect(region.subregion(at: Int.max, count: 1) == nil)
    #expect(region.subregion(at: 0, count: 0)?.byteCount == 0)
  }
}
