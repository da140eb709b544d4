/// Tests of how the driver sets the device up: the ring registers, the one RCTL write,
/// the MAC address and its sources, and each way set-up fails.
import E1000
import Packets
import Registers
import Testing

struct SetUpTests {
  @Test func theRingsAreProgrammedEmptyAtTheirAddresses() throws {
    let bed = try E1000TestBed(receiveRing: 64, transmitRing: 32, ringAddress: 0x1_2345_6780)
    let device = bed.device
    #expect(device.register(Offset.receiveBaseLow) == 0x2345_6780)
    #expect(device.register(Offset.receiveBaseHigh) == 0x1)
    #expect(device.register(Offset.receiveLength) == 64 * 16)
    #expect(device.register(Offset.receiveHead) == 0 && device.register(Offset.receiveTail) == 0)
    #expect(device.register(Offset.transmitBaseLow) == 0x2345_6780 + 64 * 16)
    #expect(device.register(Offset.transmitBaseHigh) == 0x1)
    #expect(device.register(Offset.transmitLength) == 32 * 16)
    #expect(device.register(Offset.transmitHead) == 0 && device.register(Offset.transmitTail) == 0)
    #expect(bed.driver.receiveRoom == 63 && bed.driver.transmitRoom == 31)
    #expect(bed.rings.bytes.allSatisfy { $0 == 0 })
  }

  @Test func receiveAndTransmitAreEnabledWithEveryBitAtOnce() throws {
    let bed = try E1000TestBed()
    let device = bed.device
    // EN, BAM and SECRC; BSIZE 0 (2048 bytes), no promiscuous or long-packet modes.
    #expect(device.writes(to: Offset.receiveControl) == [1 << 1 | 1 << 15 | 1 << 26])
    // EN, PSP, CT 0x0F, COLD 0x40.
    #expect(device.register(Offset.transmitControl) == 1 << 1 | 1 << 3 | 0x0F << 4 | 0x40 << 12)
    #expect(device.register(Offset.transmitInterPacketGap) == 10 | 8 << 10 | 6 << 20)
    #expect(device.register(Offset.interruptThrottle) == 0 && bed.driver.interruptThrottle == 0)
    // RCTL comes last, once the rings are in place.
    let receiveControl = try #require(device.firstWrite(to: Offset.receiveControl))
    for ringRegister in [Offset.receiveBaseLow, Offset.receiveLength, Offset.receiveTail] {
      #expect(try #require(device.firstWrite(to: ringRegister)) < receiveControl)
    }
  }

  @Test func interruptsStayMaskedUntilSomeoneWaits() throws {
    let bed = try E1000TestBed()
    #expect(bed.device.writes(to: Offset.interruptMaskClear).first == 0xFFFF_FFFF)
    #expect(bed.device.writes(to: Offset.interruptMaskSet).isEmpty)
    bed.post(0..<4)
    bed.device.receive(testFrame(length: 100))
    #expect(!bed.device.interruptLine)
  }

  @Test func theLinkIsSetUpAndReported() throws {
    let bed = try E1000TestBed()
    let control = bed.device.register(Offset.control)
    #expect(control & 1 << 6 != 0, "SLU")
    #expect(control & (1 << 3 | 1 << 7 | 1 << 31) == 0, "LRST, ILOS, PHY_RST")
    #expect(bed.driver.linkUp)
    bed.device.linkUp = false
    #expect(!bed.driver.linkUp)
  }

  @Test func theMACAddressComesFromRAL0AndIsWrittenBackValid() throws {
    let bed = try E1000TestBed()
    #expect(bed.driver.mac == MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56))
    #expect(bed.device.register(Offset.receiveAddressLow) == 0x1200_5452)
    #expect(bed.device.register(Offset.receiveAddressHigh) == 0x8000_5634)
    for index in 1..<16 { #expect(bed.device.register(Offset.receiveAddressHigh + 8 * index) == 0) }
    for index in 0..<128 { #expect(bed.device.register(Offset.multicastTable + 4 * index) == 0) }
  }

  @Test func withoutAValidRAL0TheEEPROMGivesTheAddress() throws {
    let device = SimulatedE1000()
    device.set(Offset.receiveAddressHigh, 0)  // AV clear
    device.eeprom = [0x1B02, 0x3C2D, 0x5E4F]
    let bed = try E1000TestBed(device)
    #expect(bed.driver.mac == MACAddress(0x02, 0x1B, 0x2D, 0x3C, 0x4F, 0x5E))
    #expect(device.register(Offset.receiveAddressHigh) == 0x8000_5E4F)
  }

  @Test func aGroupAddressInRAL0IsNotTaken() throws {
    let device = SimulatedE1000()
    device.set(Offset.receiveAddressLow, 0x0000_0001)  // the group bit of byte 0
    let bed = try E1000TestBed(device)
    #expect(bed.driver.mac == MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56))
  }

  @Test func noUsableAddressAnywhereFailsWithTheDeviceStopped() throws {
    for eeprom in [[UInt16](repeating: 0, count: 3), [0x0001, 0, 0]] {
      let device = SimulatedE1000()
      device.set(Offset.receiveAddressHigh, 0)
      device.set(Offset.receiveControl, 0b10)
      device.eeprom = eeprom
      #expect(throws: E1000Error.noMACAddress) { try E1000TestBed(device) }
      #expect(device.register(Offset.receiveControl) == 0)
      #expect(device.register(Offset.transmitControl) == 0)
    }
    let silent = SimulatedE1000()
    silent.set(Offset.receiveAddressHigh, 0)
    silent.eepromAnswers = false
    #expect(throws: E1000Error.noMACAddress) { try E1000TestBed(silent) }
  }

  @Test func ringSizesAreMultiplesOfEightDescriptors() {
    for size in [0, 4, 12, 63, 4104] {
      #expect(E1000MemoryLayout(receiveRingSize: size, transmitRingSize: 8) == nil)
      #expect(E1000MemoryLayout(receiveRingSize: 8, transmitRingSize: size) == nil)
    }
    let layout = E1000MemoryLayout(receiveRingSize: 256, transmitRingSize: 8)
    #expect(layout?.transmitRing == 4096 && layout?.byteCount == 4096 + 128)
  }

  @Test func ringMemoryTooSmallOrMisalignedIsRefused() throws {
    let layout = try #require(E1000MemoryLayout(receiveRingSize: 8, transmitRingSize: 8))
    for (count, address) in [(255, UInt64(0x1000)), (256, 0x1040)] {
      let device = SimulatedE1000()
      let memory = ArrayDMAMemory(byteCount: count, deviceAddress: address)
      #expect(throws: E1000Error.ringMemoryUnusable(needed: 256, available: count)) {
        try Driver(
          registers: try #require(E1000Registers(fitting: device)), memory: memory,
          layout: layout)
      }
    }
  }

  @Test func aWindowSmallerThanTheRegistersHasNoBlock() {
    let window = ArrayWindow(byteCount: 0x5000)
    #expect(E1000Registers(fitting: window) == nil)
  }

  @Test func errorsSayWhatIsWrongInWords() {
    #expect(
      E1000Error.notAnE1000(vendorID: 0x1AF4, deviceID: 0x1041).message
        == "the device is 1af4:1041, not an 82540EM (8086:100e)")
    #expect(E1000Error.noMACAddress.message.contains("MAC"))
  }
}
