/// Tests of PCI: the scan on QEMU's i440fx, BARs, device ownership and its checks, INTx
/// routing; and, in a boot with a disk (`pcidisk`, left out of `all`: run it with
/// `scripts/qemu.sh --disk PATH`), the virtio-blk device, its BARs and MSI-X, and an
/// interrupt delivered each way.
import PCI

enum PCITests {
  static var tests: [KernelTest] {
    [
      KernelTest("pci.host_and_isa_bridges", hostAndISABridges),
      KernelTest("pci.bars_decode", barsDecode),
      KernelTest("pci.config_reads_checked", configReadsChecked),
      KernelTest("pci.one_owner", oneOwner),
      KernelTest("pci.intx_routed_level_triggered", intxRoutedLevelTriggered),
      KernelTest("pci.revoke_wakes_the_waiter", revokeWakesTheWaiter),
      KernelTest("pcidisk.virtio_blk_found", virtioBlockFound),
      KernelTest("pcidisk.bars_map_and_msix_programmed", barsMapAndMSIXProgrammed),
      KernelTest("pcidisk.msix_interrupt", msixInterrupt),
      KernelTest("pcidisk.intx_interrupt", intxInterrupt),
    ]
  }

  static let owner = DomainID(rawValue: 100)
  static let other = DomainID(rawValue: 101)
  /// The e1000 and the disk, taken from their driver domains (e1000, virtio_blk), which
  /// own them from boot: these tests drive the bare devices, so the driver is destroyed
  /// first (which releases its device).
  static var e1000: DeviceHandle? {
    guard let handle = bareDevice(driver: "e1000", 0x8086, [0x100E]) else { return nil }
    quiesceE1000(handle)
    return handle
  }

  /// The e1000 driver set the NIC up to receive and interrupt, and CTRL.RST does nothing
  /// in QEMU: the tests want a device that stays silent until they make it speak, so
  /// receive, transmit and every interrupt cause are switched off and pending causes read
  /// away (IMC, RCTL, TCTL, ICR).
  private static func quiesceE1000(_ handle: DeviceHandle) {
    guard (try? DeviceManager.assign(handle, to: owner)) != nil else { return }
    if let registers = try? DeviceManager.bar(handle, 0, by: owner) {
      CPU.write32(registers.address + 0xD8, 0xFFFF_FFFF)
      CPU.write32(registers.address + 0x100, 0)
      CPU.write32(registers.address + 0x400, 0)
      _ = CPU.read32(registers.address + 0xC0)
    }
    try? DeviceManager.release(handle, by: owner)
  }
  static var virtioBlock: DeviceHandle? {
    bareDevice(driver: "virtio_blk", 0x1AF4, [0x1001, 0x1042])
  }

  private static func bareDevice(driver name: String, _ vendor: UInt16, _ devices: [UInt16])
    -> DeviceHandle?
  {
    if let driver = DomainManager.lookup(name), driver.state != .destroyed {
      DomainManager.destroy(driver)
    }
    return DeviceManager.find(vendor: vendor, deviceIDs: devices)
  }

  static func hostAndISABridges(_ t: inout TestContext) {
    let bridges = DeviceManager.find(classCode: PCIClass.bridge)
    func at(_ device: UInt8, _ function: UInt8) -> Device? {
      bridges.compactMap { DeviceManager.device($0) }.first {
        $0.address == PCIAddress(bus: 0, device: device, function: function)
      }
    }
    let host = at(0, 0)
    t.expect(
      host?.header.vendorID == 0x8086 && host?.header.deviceID == 0x1237, "no i440fx at 00:00.0")
    t.expect(host?.header.className == "host bridge", "00:00.0 is not a host bridge")
    let isa = at(1, 0)
    t.expect(
      isa?.header.deviceID == 0x7000 && isa?.header.subclass == 1, "no PIIX3 ISA bridge at 00:01.0")
    t.expect(isa?.header.isMultiFunction == true, "the PIIX3 is not multi-function")
    let ide = DeviceManager.devices.first {
      $0.address == PCIAddress(bus: 0, device: 1, function: 1)
    }
    t.expect(ide?.header.className == "IDE controller", "the scan missed function 1 of the PIIX3")
    t.expect(DeviceManager.busCount == 1, "\(DeviceManager.busCount) buses on a bridgeless i440fx")
  }

  /// Every BAR is a power of two, aligned, assigned and clear of the others; the e1000
  /// and the VGA device have the BARs QEMU gives them.
  static func barsDecode(_ t: inout TestContext) {
    var ranges: [(BARKind, Range<UInt64>)] = []
    for device in DeviceManager.devices {
      for bar in device.function.bars {
        t.expect(
          bar.size & (bar.size - 1) == 0 && bar.base % bar.size == 0,
          "\(device.address.description) BAR\(bar.index) misaligned")
        t.expect(bar.isAssigned, "\(device.address.description) BAR\(bar.index) unassigned")
        t.expect(
          !ranges.contains { $0.0.isMemory == bar.kind.isMemory && $0.1.overlaps(bar.range) },
          "\(device.address.description) BAR\(bar.index) overlaps another")
        ranges.append((bar.kind, bar.range))
      }
    }
    guard let e1000, let nic = DeviceManager.device(e1000) else {
      t.expect(false, "no e1000")
      return
    }
    let registers = nic.function.bar(0)
    t.expect(
      registers?.kind == .memory32 && registers?.size == 0x2_0000,
      "e1000 BAR0 is not 128 KiB of memory")
    t.expect(
      nic.function.bar(1)?.kind == .io && nic.function.bar(1)?.size == 0x40,
      "e1000 BAR1 is not 64 ports")
    let vga = DeviceManager.find(vendor: 0x1234, deviceIDs: [0x1111]).flatMap {
      DeviceManager.device($0)
    }
    let framebuffer = vga?.function.bar(0)
    t.expect(
      framebuffer?.prefetchable == true && framebuffer?.size == 16 << 20,
      "VGA BAR0 is not 16 MiB prefetchable")
  }

  static func configReadsChecked(_ t: inout TestContext) {
    guard let e1000 else { return fail(&t, "no e1000") }
    func read(_ offset: Int, _ width: Int, by caller: DomainID? = nil) -> Result<
      UInt32, DeviceError
    > {
      do throws(DeviceError) {
        return .success(
          try DeviceManager.readConfiguration(
            e1000, by: caller ?? owner, offset: offset, width: width))
      } catch { return .failure(error) }
    }
    t.expect(read(0, 2) == .failure(.notOwner), "read before assignment")
    guard assign(e1000, &t) else { return }
    t.expect(read(0, 2) == .success(0x8086), "vendor ID misread")
    t.expect(read(0, 4) == .success(0x100E_8086), "vendor and device ID misread")
    t.expect(read(0x0B, 1) == .success(2), "class misread")
    t.expect((try? read(255, 1).get()) != nil, "the last byte is refused")
    for (offset, width) in [
      (256, 1), (254, 4), (-1, 1), (1, 2), (2, 4), (0, 3), (0, 8), (0x1000, 4),
    ] {
      t.expect(
        read(offset, width) == .failure(.badConfigurationAccess(offset: offset, width: width)),
        "\(width) bytes at \(offset) not refused")
    }
    t.expect(read(0, 2, by: other) == .failure(.notOwner), "another domain reads")
    release(e1000, &t)
  }

  static func oneOwner(_ t: inout TestContext) {
    guard let e1000, let nic = DeviceManager.device(e1000) else { return fail(&t, "no e1000") }
    guard assign(e1000, &t) else { return }
    t.expect(
      nic.space.command.contains([.busMaster, .memorySpace, .ioSpace]), "not enabled on assignment")
    do throws(DeviceError) {
      try DeviceManager.assign(e1000, to: other)
      t.expect(false, "assigned twice")
    } catch {
      t.expect(error == .ownedByAnother(owner), "second assignment: \(error.name)")
    }
    DeviceManager.revoke(owner: owner)
    t.expect(!nic.space.command.contains(.busMaster), "bus mastering survives revocation")
    t.expect(nic.space.command.contains(.interruptDisable), "INTx not masked by revocation")
    t.expect(
      nic.ownerDescription == "domain 100 (revoked)", "owner after revoke: \(nic.ownerDescription)")
    t.expect((try? DeviceManager.bar(e1000, 0, by: owner)) == nil, "a revoked owner reads BARs")
    DeviceManager.regrant(owner: owner)
    // Off until the owner says its device is stopped: it may hold a dead driver's rings.
    t.expect(!nic.space.command.contains(.busMaster), "bus mastering back before it was asked for")
    t.expect((try? DeviceManager.startBusMastering(e1000, by: other)) == nil, "another starts DMA")
    t.expect(
      (try? DeviceManager.startBusMastering(e1000, by: owner)) != nil
        && nic.space.command.contains(.busMaster), "bus mastering not back when asked for")
    let bar = try? DeviceManager.bar(e1000, 0, by: owner)
    t.expect(
      bar?.address == nic.function.bar(0)?.base && bar?.size == 0x2_0000, "BAR0 after regrant")
    release(e1000, &t)
    t.expect(!nic.space.command.contains(.busMaster), "bus mastering survives release")
    t.expect(assign(e1000, &t, to: other), "not free after release")
    release(e1000, &t, by: other)
  }

  /// The e1000 has no MSI-X: its INTx line is routed level-triggered, and the device may
  /// assert it from the assignment on.
  static func intxRoutedLevelTriggered(_ t: inout TestContext) {
    guard let e1000, let nic = DeviceManager.device(e1000) else { return fail(&t, "no e1000") }
    guard assign(e1000, &t) else { return }
    let line = Int(nic.header.interruptLine)
    t.expect(
      nic.interrupt == .intx(line: line),
      "e1000 interrupt is \(DeviceManager.interruptName(nic.interrupt))")
    let entry = IOAPIC.redirection(line)
    t.expect(
      entry & 0xFF == UInt32(Interrupts.irqBase + line),
      "line \(line) goes to vector \(entry & 0xFF)")
    t.expect(
      entry & (1 << 15) != 0 && entry & (1 << 16) == 0,
      "line \(line) is \(hex: entry), not level and unmasked")
    t.expect(!nic.space.command.contains(.interruptDisable), "INTx masked at the device")
    release(e1000, &t)
  }

  /// A thread waiting for a device's interrupt wakes when the owner crashes.
  static func revokeWakesTheWaiter(_ t: inout TestContext) {
    guard let e1000 else { return fail(&t, "no e1000") }
    guard assign(e1000, &t) else { return }
    nonisolated(unsafe) var outcome: Result<UInt64, DeviceError>?
    let waiter = Scheduler.spawn("pci waiter") {
      do throws(DeviceError) {
        outcome = .success(try DeviceManager.waitForInterrupt(e1000, by: owner))
      } catch { outcome = .failure(error) }
    }
    Scheduler.sleep(nanoseconds: 5_000_000)
    t.expect(outcome == nil, "the wait returned without an interrupt")
    DeviceManager.revoke(owner: owner)
    if let waiter { Scheduler.join(waiter) }
    t.expect(outcome == .failure(.revoked), "the waiter was not told the device is revoked")
    release(e1000, &t)
  }

  // MARK: - With a disk

  static func virtioBlockFound(_ t: inout TestContext) {
    guard let virtioBlock, let disk = DeviceManager.device(virtioBlock) else {
      return fail(&t, "no virtio-blk (boot with --disk)")
    }
    t.expect(
      disk.header.classCode == PCIClass.massStorage, "virtio-blk is class \(disk.header.classCode)")
    t.expect((disk.function.msix?.tableSize ?? 0) >= 2, "virtio-blk has no MSI-X with 2 entries")
    t.expect(
      disk.function.capabilities.contains { $0.id == CapabilityID.vendorSpecific },
      "no virtio capabilities")
    t.expect(disk.function.bar(0)?.kind == .io, "BAR0 is not the legacy I/O window")
  }

  static func barsMapAndMSIXProgrammed(_ t: inout TestContext) {
    guard let virtioBlock, let disk = DeviceManager.device(virtioBlock),
      let msix = disk.function.msix
    else {
      return fail(&t, "no virtio-blk with MSI-X")
    }
    guard assign(virtioBlock, &t) else { return }
    for bar in disk.function.bars where bar.kind.isMemory {
      let flags = Paging.translate(bar.base)?.flags
      t.expect(flags?.contains(.cacheDisabled) == true, "BAR\(bar.index) not mapped uncached")
      t.expect(Paging.translate(bar.range.upperBound - 1) != nil, "BAR\(bar.index) mapped short")
    }
    guard case .msix(let vector) = disk.interrupt, let table = disk.function.bar(msix.tableBAR)
    else {
      release(virtioBlock, &t)
      return fail(&t, "virtio-blk got \(DeviceManager.interruptName(disk.interrupt))")
    }
    let control = disk.space.read16(msix.messageControlOffset)
    t.expect(
      control & MSIXCapability.enableBit != 0 && control & MSIXCapability.functionMaskBit == 0,
      "control \(hex: control)")
    let entry = table.base + msix.entryOffset(msix.tableSize - 1)
    t.expect(
      CPU.read32(entry) == 0xFEE0_0000 | LocalAPIC.apicID << 12,
      "message address \(hex: CPU.read32(entry))")
    t.expect(CPU.read32(entry + 8) == UInt32(vector), "message data \(hex: CPU.read32(entry + 8))")
    t.expect(CPU.read32(entry + 12) & 1 == 0, "entry masked")
    DeviceManager.revoke(owner: owner)
    t.expect(
      disk.space.read16(msix.messageControlOffset) & MSIXCapability.functionMaskBit != 0,
      "not masked by revoke")
    release(virtioBlock, &t)
    t.expect(
      disk.space.read16(msix.messageControlOffset) & MSIXCapability.enableBit == 0,
      "MSI-X on after release")
  }

  static func msixInterrupt(_ t: inout TestContext) {
    interruptDelivered(&t, msix: true)
  }

  static func intxInterrupt(_ t: inout TestContext) {
    interruptDelivered(&t, msix: false)
  }

  /// Reads sector 0 and waits for the interrupt: first until the count moves (with a
  /// deadline, so a lost interrupt fails rather than hangs), then through
  /// `waitForInterrupt`, which must return at once for the interrupt already there,
  /// and count it once.
  static func interruptDelivered(_ t: inout TestContext, msix: Bool) {
    guard let virtioBlock, let disk = DeviceManager.device(virtioBlock) else {
      return fail(&t, "no virtio-blk")
    }
    do throws(DeviceError) {
      try DeviceManager.assign(virtioBlock, to: owner, allowMSIX: msix)
    } catch { return fail(&t, "assign: \(error.name)") }
    defer { release(virtioBlock, &t) }
    let expected: StaticString = msix ? "MSI-X" : "INTx"
    switch disk.interrupt {
    case .msix where msix, .intx where !msix: break
    default:
      return fail(&t, "wanted \(expected), got \(DeviceManager.interruptName(disk.interrupt))")
    }
    let before = DeviceManager.interruptCount(virtioBlock)
    guard let ports = try? DeviceManager.bar(virtioBlock, 0, by: owner),
      let request = LegacyVirtioRequest(ports: UInt16(ports.address), msix: msix)
    else { return fail(&t, "could not submit a request") }
    defer { request.finish() }
    let deadline = Clock.nanoseconds + 2_000_000_000
    while DeviceManager.interruptCount(virtioBlock) == before && Clock.nanoseconds < deadline {
      Scheduler.sleep(nanoseconds: 1_000_000)
    }
    t.expect(DeviceManager.interruptCount(virtioBlock) > before, "no \(expected) interrupt in 2 s")
    // A driver services the device before it waits; for INTx that lowers the line,
    // which the wait lets the device raise again.
    t.expect(request.acknowledge() & 1 != 0, "ISR does not show the queue interrupt")
    let waited = try? DeviceManager.waitForInterrupt(virtioBlock, by: owner)
    t.expect(waited == 1, "waitForInterrupt saw \(waited ?? 0) interrupts, expected 1")
    t.expect(request.completed && request.status == 0, "request not completed well")
  }

  // MARK: - Helpers

  static func fail(_ t: inout TestContext, _ why: TextLine) { t.expect(false, why) }

  @discardableResult
  static func assign(_ handle: DeviceHandle, _ t: inout TestContext, to who: DomainID? = nil)
    -> Bool
  {
    do throws(DeviceError) {
      try DeviceManager.assign(handle, to: who ?? owner)
      return true
    } catch { return t.expect(false, "assign: \(error.name)") }
  }

  static func release(_ handle: DeviceHandle, _ t: inout TestContext, by who: DomainID? = nil) {
    do throws(DeviceError) {
      try DeviceManager.release(handle, by: who ?? owner)
    } catch { t.expect(false, "release: \(error.name)") }
  }
}
