/// Tests of typed registers: named fields, what each access kind lets through, and the
/// bits that reach the device, write-1-to-clear ones above all.
import Registers
import Testing

struct RegisterTests {
  @Test func readingGivesNamedFields() {
    let window = RecordingWindow(byteCount: 0x20)
    window.memory.store32(0x8003_2A05, at: 0)
    let control = TestDevice(window: window, base: 0).control.read()
    #expect(control[.enable])
    #expect(!control[.linkChanged])
    #expect(control[.overrun])
    #expect(control[.threshold] == 0x2A)
    #expect(control[.pending] == 0x3)
    #expect(window.log == [Access(kind: .load, offset: 0, width: 4, value: 0x8003_2A05)])
  }

  @Test func settingFieldsChangesOnlyTheirBits() {
    var control = Control(raw: 0xFFFF_FFFF)
    control[.enable] = false
    control[.threshold] = 0x12
    #expect(control.raw == 0xFFFF_12FE)
    control.set(.trigger, false)
    #expect(control.raw == 0x7FFF_12FE)
    #expect(Control(raw: 0).setting(.trigger).setting(.threshold, to: 1).raw == 0x8000_0100)
  }

  @Test func eachRegisterMovesItsOwnWidthOnce() {
    let window = RecordingWindow(byteCount: 0x20)
    let device = TestDevice(window: window, base: 0)
    _ = device.identifier.read()
    device.doorbell.write(7)
    device.wide.write(0x1122_3344_5566_7788)
    #expect(
      window.log == [
        Access(kind: .load, offset: 4, width: 2, value: 0),
        Access(kind: .store, offset: 6, width: 1, value: 7),
        Access(kind: .store, offset: 0x10, width: 8, value: 0x1122_3344_5566_7788),
      ])
  }

  @Test func splitRegistersMoveTwoHalvesLowFirst() {
    let window = RecordingWindow(byteCount: 0x20)
    let device = TestDevice(window: window, base: 0)
    device.address.write(0xAAAA_BBBB_CCCC_DDDD)
    #expect(
      window.stores == [
        Access(kind: .store, offset: 8, width: 4, value: 0xCCCC_DDDD),
        Access(kind: .store, offset: 12, width: 4, value: 0xAAAA_BBBB),
      ])
    #expect(device.address.read() == 0xAAAA_BBBB_CCCC_DDDD)
    window.memory.store64(0x0123_4567_89AB_CDEF, at: 0x18)
    window.log = []
    #expect(device.counter.read() == 0x0123_4567_89AB_CDEF)
    #expect(window.loads.map(\.offset) == [0x18, 0x1C])
  }

  @Test func writingBackAValueJustReadClearsNothing() {
    let window = RecordingWindow(byteCount: 0x20)
    window.memory.store32(0x0000_0107, at: 0)
    let register = TestDevice(window: window, base: 0).control
    register.write(register.read())
    #expect(window.stores == [Access(kind: .store, offset: 0, width: 4, value: 0x0000_0101)])
  }

  @Test func modifyKeepsWritableBitsAndSendsNoEventOrTrigger() {
    let window = RecordingWindow(byteCount: 0x20)
    // Enabled, both events pending, threshold 0x40, pending count 5, trigger reads 1.
    window.memory.store32(0x8005_4007, at: 0)
    let register = TestDevice(window: window, base: 0).control
    register.modify { control in
      #expect(!control[.linkChanged] && !control[.overrun])
      control[.threshold] = 0x41
    }
    // Read-only bits go back as read (the device ignores them); write-1-to-clear and
    // write-only bits as 0.
    #expect(window.stores == [Access(kind: .store, offset: 0, width: 4, value: 0x0005_4101)])
  }

  @Test func clearSendsOneEventBitAndKeepsTheRest() {
    let window = RecordingWindow(byteCount: 0x20)
    window.memory.store32(0x8000_4007, at: 0)
    let register = TestDevice(window: window, base: 0).control
    register.clear(.overrun)
    #expect(window.stores == [Access(kind: .store, offset: 0, width: 4, value: 0x0000_4005)])
  }

  @Test func clearingARegisterOfEventsOnlyReadsNothing() {
    let window = RecordingWindow(byteCount: 0x20)
    window.memory.store8(0b11, at: 7)
    TestDevice(window: window, base: 0).events.clear(.sent)
    #expect(window.log == [Access(kind: .store, offset: 7, width: 1, value: 0b10)])
  }

  @Test func acknowledgeClearsExactlyWhatWasPending() {
    let window = RecordingWindow(byteCount: 0x20)
    window.memory.store32(0x8000_4003, at: 0)
    let register = TestDevice(window: window, base: 0).control
    let seen = register.acknowledge()
    #expect(seen[.linkChanged] && !seen[.overrun])
    #expect(window.stores == [Access(kind: .store, offset: 0, width: 4, value: 0x0000_4003)])
    window.log = []
    window.memory.store32(0x0000_4001, at: 0)
    _ = register.acknowledge()
    #expect(window.stores.isEmpty)
  }

  @Test func writeOnlyRegistersBuildFromZero() {
    let window = RecordingWindow(byteCount: 0x20)
    window.memory.store8(0xFF, at: 6)
    TestDevice(window: window, base: 0).doorbell.write { $0 |= 0x3 }
    #expect(window.stores == [Access(kind: .store, offset: 6, width: 1, value: 0x3)])
  }

  @Test func aBlockSitsAtItsBase() throws {
    let window = RecordingWindow(byteCount: 0x60)
    let device = try #require(TestDevice(fitting: window, at: 0x40))
    device.doorbell.write(1)
    #expect(window.stores.map(\.offset) == [0x46])
    #expect(TestDevice(fitting: window, at: 0x41) == nil)
    #expect(TestDevice(fitting: RecordingWindow(byteCount: 0x1F)) == nil)
    #expect(TestDevice(fitting: RecordingWindow(byteCount: 0x20)) != nil)
  }

  @Test func fieldMasksCoverTheirBits() {
    #expect(Field<Control, ReadWrite>.threshold.mask == 0xFF00)
    #expect(Field<Control, ReadWrite>.threshold.shift == 8)
    #expect(Field<UInt64, ReadWrite>(bits: 0...63).mask == .max)
    #expect(Flag<Control, WriteOnly>.trigger.mask == 1 << 31)
  }
}
