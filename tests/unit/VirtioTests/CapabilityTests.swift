/// Tests of finding a virtio device's structures in its PCI capability list, and of
/// every way the list can be broken.
import Testing
import Virtio

struct CapabilityTests {
  @Test func aQEMULikeListGivesEveryStructure() throws {
    let capabilities = try VirtioPCICapabilities(reading: ConfigurationSpace.qemuLike())
    #expect(capabilities.common == VirtioStructure(bar: 4, offset: 0, length: 0x1000))
    #expect(capabilities.interruptStatus == VirtioStructure(bar: 4, offset: 0x1000, length: 0x1000))
    #expect(capabilities.device == VirtioStructure(bar: 4, offset: 0x2000, length: 0x1000))
    #expect(capabilities.notification == VirtioStructure(bar: 4, offset: 0x3000, length: 0x1000))
    #expect(capabilities.notifyOffsetMultiplier == 4)
  }

  @Test func theFirstOfEachKindWinsAndUnusableOnesAreSkipped() throws {
    var space = ConfigurationSpace()
    space.link([
      .virtio(at: 0x40, kind: 1, bar: 7, structureOffset: 0x9000, length: 0x100),
      .virtio(at: 0x50, kind: 9, structureOffset: 0x8000, length: 0x100),
      .virtio(at: 0x60, kind: 1, bar: 2, structureOffset: 0x100, length: 0x38),
      .virtio(at: 0x70, kind: 1, bar: 3, structureOffset: 0x200, length: 0x38),
      .virtio(at: 0x80, kind: 3, bar: 2, structureOffset: 0x300, length: 1),
      .virtio(at: 0x90, kind: 2, bar: 2, structureOffset: 0x402, length: 2, multiplier: 0),
    ])
    let capabilities = try VirtioPCICapabilities(reading: space)
    #expect(capabilities.common == VirtioStructure(bar: 2, offset: 0x100, length: 0x38))
    #expect(capabilities.notification == VirtioStructure(bar: 2, offset: 0x402, length: 2))
    #expect(capabilities.notifyOffsetMultiplier == 0)
    #expect(capabilities.device == nil)
  }

  @Test func noCapabilityListIsRefused() {
    #expect(throws: VirtioError.noCapabilityList) {
      try VirtioPCICapabilities(reading: ConfigurationSpace())
    }
  }

  @Test func aDeviceWithoutCommonConfigurationIsLegacyOnly() {
    var space = ConfigurationSpace(deviceID: 0x1001)
    space.link([.other(at: 0x40, id: 0x11), .other(at: 0x48, id: 0x05)])
    #expect(throws: VirtioError.noCommonConfiguration) {
      try VirtioPCICapabilities(reading: space)
    }
    #expect(VirtioError.noCommonConfiguration.message.contains("legacy-only device?"))
  }

  @Test func missingNotificationOrISRIsRefused() {
    var space = ConfigurationSpace()
    space.link([.virtio(at: 0x40, kind: 1, structureOffset: 0, length: 0x38)])
    #expect(throws: VirtioError.missingStructure(.notification)) {
      try VirtioPCICapabilities(reading: space)
    }
    space.link([
      .virtio(at: 0x40, kind: 1, structureOffset: 0, length: 0x38),
      .virtio(at: 0x50, kind: 2, structureOffset: 0x1000, length: 4, multiplier: 2),
    ])
    #expect(throws: VirtioError.missingStructure(.interruptStatus)) {
      try VirtioPCICapabilities(reading: space)
    }
  }

  @Test func aLoopingListIsRefused() {
    var space = ConfigurationSpace()
    space.link([.other(at: 0x40, id: 0x11), .other(at: 0x44, id: 0x11)])
    space.write8(0x40, at: 0x45)
    #expect(throws: VirtioError.malformedCapability(offset: 0x40, .listLoops)) {
      try VirtioPCICapabilities(reading: space)
    }
  }

  @Test(arguments: [0x04, 0x3C, 0x3F])
  func aPointerOutsideTheCapabilityAreaIsRefused(pointer: Int) {
    var space = ConfigurationSpace()
    space.link([.other(at: 0x40, id: 0x11)])
    space.write8(UInt8(pointer), at: 0x41)
    // The low two bits of a pointer are reserved and ignored.
    let seen = pointer & 0xFC
    #expect(throws: VirtioError.malformedCapability(offset: seen, .pointerOutOfRange)) {
      try VirtioPCICapabilities(reading: space)
    }
  }

  @Test func truncatedCapabilitiesAreRefused() {
    var space = ConfigurationSpace()
    space.link([.virtio(at: 0x40, kind: 1, structureOffset: 0, length: 0x38, capabilityLength: 12)])
    #expect(throws: VirtioError.malformedCapability(offset: 0x40, .truncated)) {
      try VirtioPCICapabilities(reading: space)
    }
    space = ConfigurationSpace()
    space.link([.virtio(at: 0x40, kind: 2, structureOffset: 0, length: 4)])
    #expect(throws: VirtioError.malformedCapability(offset: 0x40, .truncated)) {
      try VirtioPCICapabilities(reading: space)
    }
    space = ConfigurationSpace()
    space.link([.virtio(at: 0xF8, kind: 1, structureOffset: 0, length: 0x38)])
    #expect(throws: VirtioError.malformedCapability(offset: 0xF8, .truncated)) {
      try VirtioPCICapabilities(reading: space)
    }
  }

  @Test func structuresTooShortOrMisalignedAreRefused() {
    var space = ConfigurationSpace()
    space.link([.virtio(at: 0x40, kind: 1, structureOffset: 0, length: 0x37)])
    #expect(throws: VirtioError.malformedCapability(offset: 0x40, .structureTooShort)) {
      try VirtioPCICapabilities(reading: space)
    }
    space = ConfigurationSpace()
    space.link([.virtio(at: 0x40, kind: 1, structureOffset: 2, length: 0x38)])
    #expect(throws: VirtioError.malformedCapability(offset: 0x40, .misaligned)) {
      try VirtioPCICapabilities(reading: space)
    }
    space = ConfigurationSpace()
    space.link([.virtio(at: 0x40, kind: 2, structureOffset: 0, length: 8, multiplier: 3)])
    #expect(throws: VirtioError.malformedCapability(offset: 0x40, .misaligned)) {
      try VirtioPCICapabilities(reading: space)
    }
  }

  @Test func structuresAreCheckedAgainstTheirBar() {
    let structure = VirtioStructure(bar: 4, offset: 0x3000, length: 0x1000)
    #expect(structure.fits(inBarOfSize: 0x4000))
    #expect(!structure.fits(inBarOfSize: 0x3FFF))
    #expect(!structure.fits(inBarOfSize: 0x2000))
  }

  @Test func identitiesOfModernAndTransitionalDevices() throws {
    #expect(
      try VirtioPCIIdentity(reading: ConfigurationSpace(deviceID: 0x1042))
        == VirtioPCIIdentity(deviceType: 2, isTransitional: false))
    #expect(
      try VirtioPCIIdentity(reading: ConfigurationSpace(deviceID: 0x1001, subsystemID: 2))
        == VirtioPCIIdentity(deviceType: 2, isTransitional: true))
    #expect(throws: VirtioError.notVirtio(vendorID: 0x8086, deviceID: 0x100E)) {
      try VirtioPCIIdentity(reading: ConfigurationSpace(vendorID: 0x8086, deviceID: 0x100E))
    }
    #expect(throws: VirtioError.notVirtio(vendorID: 0x1AF4, deviceID: 0x10F0)) {
      try VirtioPCIIdentity(reading: ConfigurationSpace(deviceID: 0x10F0))
    }
  }
}

struct MappingTests {
  @Test func eachStructureIsAWindowOfItsBar() throws {
    let device = SimulatedBlockDevice()
    let transport = try makeTransport(device)
    #expect(transport.notification.start == SimulatedVirtioDevice.notificationBase)
    #expect(transport.device?.start == SimulatedVirtioDevice.configurationBase)
    #expect(transport.common.window.start == 0 && transport.common.window.byteCount == 0x1000)
    #expect(transport.notifyOffsetMultiplier == SimulatedVirtioDevice.notifyMultiplier)
  }

  @Test func aStructureOutsideItsBarOrInNoMemoryBarIsRefused() throws {
    let device = SimulatedBlockDevice()
    let small = ObservedWindow(byteCount: 0x3001)
    #expect(throws: VirtioError.structureOutsideBAR(.notification)) {
      try VirtioPCITransport(reading: device.configurationSpace) { $0 == 4 ? small : nil }
    }
    #expect(throws: VirtioError.structureOutsideBAR(.deviceConfiguration)) {
      try VirtioPCITransport(reading: device.configurationSpace) { _ -> ObservedWindow? in nil }
    }
  }

  @Test func aRefusedConfigurationReadReadsAsAllOnes() throws {
    let space = ConfigurationSpace.qemuLike(deviceID: 0x1041)
    let reader = PCIConfigurationReader { offset, width in
      offset < 0x40
        ? [
          1: UInt32(space.read8(at: offset)), 2: UInt32(space.read16(at: offset)),
          4: space.read32(at: offset),
        ][width] : nil
    }
    #expect(reader.read16(at: 0) == 0x1AF4 && reader.read32(at: 0) == 0x1041_1AF4)
    #expect(reader.read8(at: 0x40) == 0xFF && reader.read16(at: 0x40) == 0xFFFF)
    #expect(reader.read32(at: 0x40) == 0xFFFF_FFFF)
    #expect(
      try VirtioPCIIdentity(reading: reader).deviceType == VirtioPCIIdentity.networkDeviceType)
    // The capabilities past the header read as all ones: no usable list.
    #expect(throws: VirtioError.self) { try VirtioPCICapabilities(reading: reader) }
  }
}
