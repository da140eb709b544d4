/// The capability list walk, MSI-X and MSI, and malformed lists that must not hang.
import Testing

@testable import PCI

@Suite struct CapabilityTests {
  func walk(_ function: FakeFunction) throws(PCIError) -> [Capability] {
    let space = singleFunction(function).1
    return try Capability.walk(in: space, header: header(space))
  }

  @Test func noListWithoutTheStatusBit() throws {
    let function = FakeFunction()
    function.set8(0x34, 0x40)
    function.set8(0x40, 0x11)
    #expect(try walk(function).isEmpty)
  }

  @Test func walksInListOrder() throws {
    let function = FakeFunction()
    let first = function.capability(CapabilityID.vendorSpecific, body: [0x10, 0, 0, 0])
    let second = function.capability(CapabilityID.powerManagement, body: [0, 0, 0, 0, 0, 0])
    let third = function.capability(CapabilityID.msi, body: [0, 0, 0, 0, 0, 0, 0, 0])
    #expect(
      try walk(function) == [
        Capability(id: 0x09, offset: first), Capability(id: 0x01, offset: second),
        Capability(id: 0x05, offset: third),
      ])
    #expect([first, second, third] == [0x40, 0x48, 0x50])
  }

  @Test func reservedPointerBitsAreMasked() throws {
    let function = FakeFunction()
    function.capability(CapabilityID.msi)
    function.capability(CapabilityID.pciExpress)
    function.set8(0x34, 0x43)
    function.set8(0x41, 0x46)
    #expect(try walk(function).map(\.offset) == [0x40, 0x44])
  }

  @Test func aPointerIntoTheHeader() {
    let function = FakeFunction()
    function.capability(CapabilityID.msi)
    function.set8(0x41, 0x10)
    #expect(throws: PCIError.capabilityPointerIntoHeader(origin, from: 0x41, pointer: 0x10)) {
      try walk(function)
    }
    function.set8(0x34, 0x3C)
    #expect(throws: PCIError.capabilityPointerIntoHeader(origin, from: 0x34, pointer: 0x3C)) {
      try walk(function)
    }
    #expect(
      PCIError.capabilityPointerIntoHeader(origin, from: 0x41, pointer: 0x10).message
        == "pci 00:04.0: capability pointer at 0x41 points to 0x10, inside the standard header")
  }

  @Test func loopsAreErrorsNotHangs() {
    let selfLoop = FakeFunction()
    selfLoop.capability(CapabilityID.msi)
    selfLoop.set8(0x41, 0x40)
    #expect(throws: PCIError.capabilityLoop(origin, offset: 0x40)) { try walk(selfLoop) }

    let longLoop = FakeFunction()
    for _ in 0..<5 { longLoop.capability(CapabilityID.vendorSpecific) }
    longLoop.set8(0x51, 0x48)  // the fifth points back at the third
    #expect(throws: PCIError.capabilityLoop(origin, offset: 0x48)) { try walk(longLoop) }
    #expect(
      PCIError.capabilityLoop(origin, offset: 0x48).message
        == "pci 00:04.0: capability list loops back to 0x48")
  }

  @Test func aFullSpaceOfCapabilities() throws {
    let function = FakeFunction()
    for _ in 0..<48 { function.capability(CapabilityID.vendorSpecific) }
    #expect(try walk(function).count == 48)
    function.set8(0xFD, 0x40)  // the last points back at the first
    #expect(throws: PCIError.capabilityLoop(origin, offset: 0x40)) { try walk(function) }
  }

  @Test func cardBusBridgesKeepTheirPointerElsewhere() throws {
    let function = FakeFunction(headerType: 2)
    function.set16(0x06, 0x10)
    function.set8(0x14, 0x80)
    function.set8(0x80, CapabilityID.powerManagement)
    #expect(try walk(function) == [Capability(id: 1, offset: 0x80)])
  }

  // MARK: - MSI-X

  func virtioLike() -> FakeFunction {
    let function = FakeFunction()
      .bar(0, .io, size: 0x80)
      .bar(1, .memory32, size: 0x1000)
      .bar(4, .memory64, size: 0x4000, prefetchable: true)
    function.msix(size: 2, tableBAR: 1, tableOffset: 0, pendingBAR: 1, pendingOffset: 0x800)
    return function
  }

  @Test func msixDecodes() throws {
    let function = try PCIFunction.probe(
      singleFunction(virtioLike()).1, header: header(singleFunction(virtioLike()).1))
    let msix = try #require(function.msix)
    #expect(msix.offset == 0x40 && msix.tableSize == 2)
    #expect(msix.tableBAR == 1 && msix.tableOffset == 0)
    #expect(msix.pendingBitsBAR == 1 && msix.pendingBitsOffset == 0x800)
    #expect(!msix.isEnabled && !msix.isFunctionMasked)
    #expect(msix.tableLength == 32 && msix.pendingBitsLength == 8)
    #expect(msix.entryOffset(1) == 16 && msix.messageControlOffset == 0x42)
    #expect(function.interruptDescription == "MSI-X 2")
  }

  @Test func msixControlBitsAndLargestTable() throws {
    let function = FakeFunction().bar(0, .memory32, size: 0x10000)
    let offset = function.msix(
      size: 2048, tableBAR: 0, tableOffset: 0x2000, pendingBAR: 0, pendingOffset: 0xA000)
    function.set16(offset + 2, function.get16(offset + 2) | 0xC000)
    let space = singleFunction(function).1
    let msix = try #require(try PCIFunction.probe(space, header: header(space)).msix)
    #expect(msix.tableSize == 2048 && msix.isEnabled && msix.isFunctionMasked)
    #expect(msix.tableLength == 0x8000 && msix.pendingBitsLength == 256)
  }

  @Test func msixStructuresMustBeInsideMemoryBARs() {
    func probe(_ function: FakeFunction) throws(PCIError) {
      let space = singleFunction(function).1
      _ = try PCIFunction.probe(space, header: header(space))
    }
    let pastEnd = FakeFunction().bar(1, .memory32, size: 0x1000)
    pastEnd.msix(size: 8, tableBAR: 1, tableOffset: 0xF90, pendingBAR: 1, pendingOffset: 0x800)
    #expect(
      throws: PCIError.msixOutsideBAR(
        origin, .table, bar: 1, offset: 0xF90, length: 0x80, barSize: 0x1000)
    ) { try probe(pastEnd) }

    let ioTable = FakeFunction().bar(0, .io, size: 0x80).bar(1, .memory32, size: 0x1000)
    ioTable.msix(size: 2, tableBAR: 0, tableOffset: 0, pendingBAR: 1, pendingOffset: 0)
    #expect(throws: PCIError.msixInMissingBAR(origin, .table, bar: 0)) { try probe(ioTable) }

    let missingPending = FakeFunction().bar(1, .memory32, size: 0x1000)
    missingPending.msix(size: 2, tableBAR: 1, tableOffset: 0, pendingBAR: 7, pendingOffset: 0)
    #expect(throws: PCIError.msixInMissingBAR(origin, .pendingBits, bar: 7)) {
      try probe(missingPending)
    }
    let farPending = FakeFunction().bar(1, .memory32, size: 0x1000)
    farPending.msix(size: 2, tableBAR: 1, tableOffset: 0, pendingBAR: 1, pendingOffset: 0x1_0000)
    #expect(
      throws: PCIError.msixOutsideBAR(
        origin, .pendingBits, bar: 1, offset: 0x1_0000, length: 8, barSize: 0x1000)
    ) { try probe(farPending) }
    #expect(
      PCIError.msixOutsideBAR(origin, .table, bar: 1, offset: 0xF90, length: 0x80, barSize: 0x1000)
        .message
        == "pci 00:04.0: MSI-X table (0x80 bytes at 0xf90) runs past BAR1 (0x1000 bytes)")
  }

  @Test func aCapabilityRunningPastTheEnd() {
    let function = FakeFunction().bar(0, .memory32, size: 0x1000)
    function.set16(0x06, 0x10)
    function.set8(0x34, 0xF8)
    function.set8(0xF8, CapabilityID.msix)
    let space = singleFunction(function).1
    #expect(throws: PCIError.capabilityPastEnd(origin, id: 0x11, offset: 0xF8, length: 12)) {
      try PCIFunction.probe(space, header: header(space))
    }
  }

  // MARK: - MSI

  @Test func msiVariants() throws {
    let plain = FakeFunction()
    plain.capability(CapabilityID.msi, body: [0x00, 0x00] + [UInt8](repeating: 0, count: 6))
    let space = singleFunction(plain).1
    let msi = try #require(try PCIFunction.probe(space, header: header(space)).msi)
    #expect(!msi.is64Bit && !msi.hasPerVectorMasking && msi.vectorsCapable == 1 && !msi.isEnabled)
    #expect(msi.dataOffset == 0x48)

    let wide = FakeFunction()
    wide.capability(CapabilityID.msi, body: [0x87, 0x01] + [UInt8](repeating: 0, count: 20))
    let wideSpace = singleFunction(wide).1
    let wideMSI = try #require(try PCIFunction.probe(wideSpace, header: header(wideSpace)).msi)
    #expect(wideMSI.is64Bit && wideMSI.hasPerVectorMasking && wideMSI.vectorsCapable == 8)
    #expect(wideMSI.isEnabled && wideMSI.dataOffset == 0x4C)
  }

  @Test func interruptMessagesGoToTheLocalAPIC() {
    let message = InterruptMessage(vector: 0x41, apicID: 3)
    #expect(message.address == 0xFEE0_3000 && message.data == 0x41)
    #expect(InterruptMessage(vector: 0xDF, apicID: 0).address == 0xFEE0_0000)
  }
}
