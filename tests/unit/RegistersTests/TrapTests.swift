/// What stops the program instead of reaching memory it must not: accesses outside a
/// window, values too wide for their field, fields declared against their masks. Each
/// runs in a child process (an exit test), which must crash.
import Registers
import Testing

struct TrapTests {
  @Test func anAccessPastTheWindowTraps() async {
    await #expect(processExitsWith: .failure) {
      _ = ArrayWindow(byteCount: 8).load32(at: 8)
    }
  }

  @Test func aMisalignedAccessTraps() async {
    await #expect(processExitsWith: .failure) {
      ArrayWindow(byteCount: 8).store16(1, at: 3)
    }
  }

  @Test func aSliceAccessPastItsEndTrapsThoughTheBaseIsLarger() async {
    await #expect(processExitsWith: .failure) {
      _ = ArrayWindow(byteCount: 64).slice(start: 0, count: 8)?.load8(at: 8)
    }
  }

  @Test func aRegionOutsideTheMemoryTraps() async {
    await #expect(processExitsWith: .failure) {
      _ = ArrayDMAMemory(byteCount: 64, deviceAddress: 0x1000).dmaRegion(at: 60, count: 8)
    }
  }

  @Test func aRegionThatWrapsAroundTraps() async {
    await #expect(processExitsWith: .failure) {
      _ = DMARegion(vouchedAddress: .max - 10, byteCount: 12)
    }
  }

  @Test func aValueTooWideForItsFieldTraps() async {
    await #expect(processExitsWith: .failure) {
      var control = Control(raw: 0)
      control[.threshold] = 0x100
    }
  }

  @Test func aFieldOutsideItsRegisterTraps() async {
    await #expect(processExitsWith: .failure) {
      _ = Field<UInt8, ReadWrite>(bits: 4...8)
    }
  }

  @Test func aWriteOneToClearFieldOutsideTheMaskTraps() async {
    await #expect(processExitsWith: .failure) {
      _ = Flag<Control, WriteOneToClear>(bit: 0)
    }
  }

  @Test func aReadWriteFieldInsideTheMaskTraps() async {
    await #expect(processExitsWith: .failure) {
      _ = Field<Control, ReadWrite>(bits: 0...3)
    }
  }
}
