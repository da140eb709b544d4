/// The bus scan (functions, multi-function devices, bridges, loops) and BAR placement.
import Testing

@testable import PCI

@Suite struct ScanTests {
  /// QEMU's i440fx as qboot leaves it: host bridge, PIIX3 (ISA, IDE, power management),
  /// VGA, e1000, virtio-blk; nothing assigned.
  func i440fx() -> FakeBus {
    let bus = FakeBus()
    bus[0, 0, 0] = FakeFunction(vendor: 0x8086, device: 0x1237, classCode: 6, subclass: 0)
    bus[0, 1, 0] = FakeFunction(
      vendor: 0x8086, device: 0x7000, classCode: 6, subclass: 1, headerType: 0x80)
    bus[0, 1, 1] = FakeFunction(vendor: 0x8086, device: 0x7010, classCode: 1, subclass: 1)
      .bar(4, .io, size: 0x10)
    bus[0, 1, 3] = FakeFunction(vendor: 0x8086, device: 0x7113, classCode: 6, subclass: 0x80)
    bus[0, 2, 0] = FakeFunction(vendor: 0x1234, device: 0x1111, classCode: 3, subclass: 0)
      .bar(0, .memory32, size: 0x100_0000, prefetchable: true).bar(2, .memory32, size: 0x1000)
    bus[0, 3, 0] = FakeFunction(vendor: 0x8086, device: 0x100E, classCode: 2, subclass: 0)
      .bar(0, .memory32, size: 0x2_0000).bar(1, .io, size: 0x40)
    bus[0, 4, 0] = FakeFunction(vendor: 0x1AF4, device: 0x1001, classCode: 1, subclass: 0)
      .bar(0, .io, size: 0x80).bar(1, .memory32, size: 0x1000)
      .bar(4, .memory64, size: 0x4000, prefetchable: true)
    return bus
  }

  @Test func findsEveryFunctionInOrder() {
    let scan = BusScan(i440fx())
    #expect(
      scan.functions.map(\.address.description) == [
        "00:00.0", "00:01.0", "00:01.1", "00:01.3", "00:02.0", "00:03.0", "00:04.0",
      ])
    #expect(scan.functions[1].header.className == "ISA bridge")
    #expect(scan.buses == [0] && scan.problems.isEmpty)
  }

  @Test func otherFunctionsOnlyIfFunctionZeroSaysSo() {
    let bus = i440fx()
    bus[0, 3, 2] = FakeFunction()  // e1000 is single-function: never looked at
    bus[0, 9, 1] = FakeFunction()  // no function 0: no device
    #expect(BusScan(bus).functions.count == 7)
  }

  @Test func followsBridgesToTheirBuses() {
    let bus = i440fx()
    let bridge = FakeFunction(
      vendor: 0x1B36, device: 0x0001, classCode: 6, subclass: 4, headerType: 1)
    bridge.set8(0x19, 1)
    bus[0, 5, 0] = bridge
    bus[1, 0, 0] = FakeFunction(vendor: 0x1AF4, device: 0x1042)
    let nested = FakeFunction(classCode: 6, subclass: 4, headerType: 1)
    nested.set8(0x19, 2)
    bus[1, 1, 0] = nested
    bus[2, 7, 0] = FakeFunction(vendor: 0x8086, device: 0x10D3)
    let scan = BusScan(bus)
    #expect(scan.buses == [0, 1, 2] && scan.problems.isEmpty)
    #expect(
      scan.functions.suffix(3).map(\.address.description) == ["01:00.0", "01:01.0", "02:07.0"])
  }

  @Test func bridgeLoopsAreReportedNotFollowed() {
    let bus = i440fx()
    let toItself = FakeFunction(classCode: 6, subclass: 4, headerType: 1)
    bus[0, 5, 0] = toItself  // secondary bus 0: unconfigured
    let first = FakeFunction(classCode: 6, subclass: 4, headerType: 1)
    first.set8(0x19, 1)
    bus[0, 6, 0] = first
    let back = FakeFunction(classCode: 6, subclass: 4, headerType: 1)
    back.set8(0x19, 1)
    bus[1, 0, 0] = back
    let scan = BusScan(bus)
    #expect(scan.buses == [0, 1])
    #expect(
      scan.problems == [
        .bridgeToScannedBus(PCIAddress(bus: 0, device: 5, function: 0), bus: 0),
        .bridgeToScannedBus(PCIAddress(bus: 1, device: 0, function: 0), bus: 1),
      ])
    #expect(
      scan.problems[1].message
        == "pci 01:00.0: bridge to bus 0x1, which is already scanned: not followed")
  }

  @Test func anEmptyBus() {
    let scan = BusScan(FakeBus())
    #expect(scan.functions.isEmpty && scan.buses == [0])
  }

  // MARK: - Probing and placing

  func probed(_ bus: FakeBus) throws -> [PCIFunction] {
    try BusScan(bus).functions.map { (address, header) throws(PCIError) in
      try PCIFunction.probe(ConfigurationSpace(bus, address), header: header)
    }
  }

  let memory: Range<UInt64> = 0xE000_0000..<0xFEC0_0000
  let io: Range<UInt64> = 0xC000..<0x1_0000

  @Test func placesUnassignedBARsLargestFirstAligned() throws {
    let functions = try probed(i440fx())
    let (assignments, problems) = BARPlacement.plan(
      functions, memory: memory, io: io, reserved: [0..<0x1000_0000])
    #expect(problems.isEmpty)
    let placed = assignments.map { "\($0.address.description) BAR\($0.bar) \(hex($0.base))" }
    #expect(
      placed == [
        "00:02.0 BAR0 0xe0000000", "00:03.0 BAR0 0xe1000000", "00:04.0 BAR4 0xe1020000",
        "00:02.0 BAR2 0xe1024000", "00:04.0 BAR1 0xe1025000", "00:04.0 BAR0 0xc000",
        "00:03.0 BAR1 0xc080", "00:01.1 BAR4 0xc0c0",
      ])
  }

  @Test func avoidsReservedMemoryAndAssignedBARs() throws {
    let bus = i440fx()
    bus[0, 4, 0] = FakeFunction(vendor: 0x1AF4, device: 0x1001)
      .bar(0, .io, size: 0x80, base: 0xC000).bar(1, .memory32, size: 0x1000, base: 0xE100_0000)
    let functions = try probed(bus)
    let (assignments, _) = BARPlacement.plan(
      functions, memory: memory, io: io, reserved: [0xE000_0000..<0xE000_1000])
    func base(_ device: UInt8, _ bar: Int) -> UInt64? {
      assignments.first { $0.address.device == device && $0.bar == bar }?.base
    }
    #expect(base(2, 0) == 0xE200_0000)  // 16 MiB-aligned, past both
    #expect(base(3, 0) == 0xE002_0000)
    #expect(base(2, 2) == 0xE000_1000)
    #expect(base(3, 1) == 0xC080)
    #expect(!assignments.contains { $0.address.device == 4 })
  }

  @Test func noRoomAndBehindBridges() throws {
    let bus = FakeBus()
    bus[0, 2, 0] = FakeFunction().bar(0, .memory32, size: 0x100_0000).bar(
      1, .memory32, size: 0x1000)
    let bridge = FakeFunction(classCode: 6, subclass: 4, headerType: 1)
    bridge.set8(0x19, 1)
    bus[0, 3, 0] = bridge
    bus[1, 0, 0] = FakeFunction().bar(0, .memory32, size: 0x1000)
    let (assignments, problems) = BARPlacement.plan(
      try probed(bus), memory: 0xFE00_0000..<0xFEC0_0000, io: io, reserved: [])
    #expect(
      assignments == [
        BARAssignment(
          address: PCIAddress(bus: 0, device: 2, function: 0), bar: 1, base: 0xFE00_0000)
      ])
    #expect(
      problems == [
        .noRoomForBAR(PCIAddress(bus: 0, device: 2, function: 0), bar: 0, size: 0x100_0000),
        .unassignedBehindBridge(PCIAddress(bus: 1, device: 0, function: 0), bar: 0),
      ])
  }

  @Test func windowEdges() {
    var window = AddressWindow(0x1000..<0x3000, avoiding: [0x1000..<0x1001, 0x0..<0x0])
    #expect(window.allocate(size: 0x1000) == 0x2000)
    #expect(window.allocate(size: 0x1000) == nil)
    #expect(window.allocate(size: 0x10) == 0x1010)
    var top = AddressWindow(0xFFFF_FFFF_FFFF_0000..<0xFFFF_FFFF_FFFF_FFFF, avoiding: [])
    #expect(top.allocate(size: 0x1_0000) == nil)  // would end past the window
    #expect(top.allocate(size: 0x8000) == 0xFFFF_FFFF_FFFF_0000)
  }
}
