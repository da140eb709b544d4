/// INTx routing through the PIIX3, as QEMU's i440fx wires it.
import Testing

@testable import PCI

@Suite struct RoutingTests {
  @Test func pinsRotateBySlot() {
    #expect(PIIXRouting.pirq(device: 1, pin: 1) == 0)  // the PIIX3's own functions: PIRQA
    #expect(PIIXRouting.pirq(device: 3, pin: 1) == 2)  // the e1000 in slot 3: PIRQC
    #expect(PIIXRouting.pirq(device: 4, pin: 1) == 3)  // virtio in slot 4: PIRQD
    #expect(PIIXRouting.pirq(device: 5, pin: 1) == 0)
    #expect(PIIXRouting.pirq(device: 4, pin: 2) == 0)
    #expect(PIIXRouting.pirq(device: 0, pin: 1) == 3)
    #expect(PIIXRouting.pirq(device: 31, pin: 4) == 1)
  }

  @Test func routeRegisters() {
    #expect(PIIXRouting.line(routeRegister: 10) == 10)
    #expect(PIIXRouting.line(routeRegister: 0x80) == nil)  // the reset value: disabled
    #expect(PIIXRouting.line(routeRegister: 0x8B) == nil)
    #expect(PIIXRouting.line(routeRegister: 16) == nil)
  }
}
