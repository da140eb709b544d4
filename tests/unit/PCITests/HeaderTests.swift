/// The configuration header: identity, class, layout, multi-function, interrupts.
import Testing

@testable import PCI

@Suite struct HeaderTests {
  @Test func decodesEveryField() {
    let function = FakeFunction(vendor: 0x8086, device: 0x100E, classCode: 0x02, subclass: 0x00)
    function.set16(0x04, 0x0007)
    function.set16(0x06, 0x0010)
    function.set8(0x08, 0x03)
    function.set8(0x09, 0x01)
    function.set8(0x3C, 11)
    function.set8(0x3D, 1)
    let (_, space) = singleFunction(function)
    let decoded = header(space)
    #expect(decoded.vendorID == 0x8086 && decoded.deviceID == 0x100E)
    #expect(decoded.command == 7 && decoded.status == 0x10 && decoded.hasCapabilities)
    #expect(decoded.revision == 3 && decoded.programmingInterface == 1)
    #expect(decoded.classCode == 2 && decoded.subclass == 0)
    #expect(decoded.className == "Ethernet controller")
    #expect(decoded.interruptLine == 11 && decoded.interruptPinName == "A")
    #expect(decoded.layout == .general && !decoded.isMultiFunction && decoded.layout.barCount == 6)
  }

  @Test func absentFunctionsReadAsNothing() {
    let bus = FakeBus()
    #expect(ConfigurationHeader.read(from: bus.space(0, 1, 0)) == nil)
    bus[0, 1, 0] = FakeFunction(vendor: 0x0000)
    #expect(ConfigurationHeader.read(from: bus.space(0, 1, 0)) == nil)
  }

  @Test func layoutsAndTheMultiFunctionBit() {
    #expect(HeaderLayout(type: 0x80) == .general)
    #expect(HeaderLayout(type: 0x01) == .pciBridge && HeaderLayout(type: 0x01).barCount == 2)
    #expect(HeaderLayout(type: 0x82) == .cardBusBridge && HeaderLayout(type: 0x02).barCount == 0)
    #expect(HeaderLayout(type: 0x7F) == .unknown(0x7F))
    let (_, space) = singleFunction(FakeFunction(headerType: 0x81))
    let bridge = header(space)
    #expect(bridge.isMultiFunction && bridge.layout == .pciBridge)
  }

  @Test func bridgesHaveASecondaryBus() {
    let function = FakeFunction(classCode: 0x06, subclass: 0x04, headerType: 1)
    function.set8(0x19, 3)
    let (_, space) = singleFunction(function)
    #expect(header(space).secondaryBus == 3 && header(space).className == "PCI-to-PCI bridge")
    let device = FakeFunction()
    device.set8(0x19, 3)  // in a type 0 header this byte is a BAR's
    #expect(header(singleFunction(device).1).secondaryBus == 0)
  }

  @Test func interruptPins() {
    let function = FakeFunction()
    for (pin, name) in [(UInt8(0), nil), (1, "A"), (4, "D"), (5, nil)] as [(UInt8, String?)] {
      function.set8(0x3D, pin)
      #expect(header(singleFunction(function).1).interruptPinName == name)
    }
  }

  @Test func classNames() {
    #expect(PCIClass.name(classCode: 0x06, subclass: 0x00) == "host bridge")
    #expect(PCIClass.name(classCode: 0x06, subclass: 0x01) == "ISA bridge")
    #expect(PCIClass.name(classCode: 0x01, subclass: 0x01) == "IDE controller")
    #expect(PCIClass.name(classCode: 0x01, subclass: 0x00) == "SCSI storage controller")
    #expect(PCIClass.name(classCode: 0x03, subclass: 0x00) == "VGA controller")
    #expect(
      PCIClass.name(classCode: 0x0C, subclass: 0x03, programmingInterface: 0x30)
        == "USB controller (xHCI)")
    #expect(
      PCIClass.name(classCode: 0x01, subclass: 0x08, programmingInterface: 0x02)
        == "NVM Express controller")
    #expect(PCIClass.name(classCode: 0x08, subclass: 0x42) == "system peripheral (class 08.42)")
    #expect(PCIClass.name(classCode: 0xFF, subclass: 0x00) == "class ff.00")
  }

  @Test func addressesPrintLikeLspci() {
    #expect(PCIAddress(bus: 0, device: 4, function: 0).description == "00:04.0")
    #expect(PCIAddress(bus: 0x1F, device: 31, function: 7).description == "1f:1f.7")
    #expect(PCIAddress(bus: 0, device: 1, function: 3) < PCIAddress(bus: 0, device: 2, function: 0))
    #expect(
      PCIAddress(bus: 0, device: 31, function: 7) < PCIAddress(bus: 1, device: 0, function: 0))
  }

  @Test func accessChecks() {
    typealias Space = ConfigurationSpace<FakeBus>
    #expect(Space.isValidAccess(offset: 0, width: 4) && Space.isValidAccess(offset: 252, width: 4))
    #expect(
      Space.isValidAccess(offset: 255, width: 1) && Space.isValidAccess(offset: 254, width: 2))
    #expect(
      !Space.isValidAccess(offset: 256, width: 1) && !Space.isValidAccess(offset: -1, width: 1))
    #expect(
      !Space.isValidAccess(offset: 254, width: 4) && !Space.isValidAccess(offset: 2, width: 4))
    #expect(!Space.isValidAccess(offset: 1, width: 2) && !Space.isValidAccess(offset: 0, width: 3))
    #expect(!Space.isValidAccess(offset: 0, width: 8) && !Space.isValidAccess(offset: 0, width: 0))
  }
}
