/// The PCI devices: found at boot, each handed to at most one domain.
///
/// `scan` (kmain, once interrupts are up) finds every function through configuration
/// mechanism #1, sizes its BARs, walks its capabilities, places the BARs the firmware
/// left unassigned, and logs one line per function. Nothing is enabled then: a device
/// decodes its BARs, masters the bus and interrupts only once it is handed out.
///
/// Ownership, the API the system interface exposes to driver domains:
///   - `find(vendor:deviceIDs:)`, `find(classCode:subclass:)`: handles, by identity.
///   - `assign(_:to:)`: the device becomes the owner's. Its memory BARs are mapped
///     uncached, I/O and memory decoding and bus mastering are switched on, and its
///     interrupt is set up (MSI-X, else INTx, else none). One owner at a time.
///   - For the owner only: `readConfiguration` (1, 2 or 4 bytes, aligned, inside the
///     256-byte space), `bar` (kind, base, size, mapped address), `waitForInterrupt`.
///     There is no configuration write: everything a driver must change there (command
///     register, MSI-X) the kernel does, and the rest is for the kernel to keep.
///   - `release`: the owner gives the device back, switched off.
///   - `revoke(owner:)` / `regrant(owner:)`: the crash hooks (below).
/// What an owner gets is exactly its device's BARs and its interrupt. Without an IOMMU,
/// a device that masters the bus can write anywhere, so the owner is trusted with that
/// much; the MSI-X table is in a BAR too, but the kernel has set it, and a driver has no
/// reason to touch it.
import BootInfo
import PCI

enum DeviceManager {
  nonisolated(unsafe) private(set) static var devices: [Device] = []
  nonisolated(unsafe) private(set) static var busCount = 0

  /// Where unassigned BARs go: the top of the 32-bit space below the I/O APIC, where
  /// QEMU's i440fx and SeaBIOS put PCI memory, and the I/O ports SeaBIOS uses.
  static let memoryWindow: Range<UInt64> = 0xE000_0000..<0xFEC0_0000
  static let ioWindow: Range<UInt64> = 0xC000..<0x1_0000
  /// Memory an identity mapping can reach: the lower half.
  static let mappableEnd: UInt64 = 1 << 47

  // MARK: - Boot

  /// Finds, probes, places and logs every PCI function. Problems are logged and leave
  /// that function unusable; they never stop the boot.
  static func scan(memoryMap: [MemoryRegion]) {
    let access = ConfigurationPorts()
    let found = BusScan(access)
    for problem in found.problems { Log.warning("\(problem.message)") }
    var functions: [PCIFunction] = []
    var problems: [PCIAddress: String] = [:]
    for (address, header) in found.functions {
      do throws(PCIError) {
        functions.append(try PCIFunction.probe(ConfigurationSpace(access, address), header: header))
      } catch {
        problems[address] = error.message
        functions.append(PCIFunction(address: address, header: header))
      }
    }
    routeINTx(&functions, access)
    let usable = functions.filter { problems[$0.address] == nil }
    let reserved =
      memoryMap.map { $0.start..<$0.end } + [
        IOAPIC.base..<(IOAPIC.base + 0x1000), LocalAPIC.base..<(LocalAPIC.base + 0x1000),
      ]
    let plan = BARPlacement.plan(usable, memory: memoryWindow, io: ioWindow, reserved: reserved)
    for problem in plan.problems { problems[problem.address] = problem.message }
    for assignment in plan.assignments {
      guard let index = functions.firstIndex(where: { $0.address == assignment.address }),
        let slot = functions[index].bars.firstIndex(where: { $0.index == assignment.bar })
      else { continue }
      let space = ConfigurationSpace(access, assignment.address)
      functions[index].bars[slot] = functions[index].bars[slot].assign(assignment.base, in: space)
    }
    for function in functions {
      let device = Device(
        handle: DeviceHandle(rawValue: devices.count), function: function,
        problem: problems[function.address])
      devices.append(device)
      if let problem = device.problem {
        Log.warning("\(problem) (\(function.identity): left alone)")
      } else {
        Log.info("pci \(function.address.description) \(device.summary)")
      }
    }
    busCount = found.buses.count
    Log.info("pci: \(devices.count) functions on \(busCount) bus\(busCount == 1 ? "" : "es")")
  }

  /// On an i440fx with its PIIX3, works out each bus-0 device's INTx line from the
  /// PIRQ routing (`PIIXRouting`) and corrects the interrupt line register where the
  /// firmware got it wrong; elsewhere the register is taken as the firmware wrote it.
  private static func routeINTx(_ functions: inout [PCIFunction], _ access: ConfigurationPorts) {
    func has(_ address: PCIAddress, _ id: (vendor: UInt16, device: UInt16)) -> Bool {
      functions.contains {
        $0.address == address && $0.header.vendorID == id.vendor && $0.header.deviceID == id.device
      }
    }
    guard has(PCIAddress(bus: 0, device: 0, function: 0), PIIXRouting.hostBridgeID),
      has(PIIXRouting.isaBridge, PIIXRouting.isaBridgeID)
    else { return }
    for index in functions.indices {
      let function = functions[index]
      let pin = function.header.interruptPin
      guard function.address.bus == 0, pin >= 1 && pin <= 4 else { continue }
      let pirq = PIIXRouting.pirq(device: function.address.device, pin: pin)
      let route = access.read8(PIIXRouting.isaBridge, PIIXRouting.firstRouteRegister + pirq)
      let line = PIIXRouting.line(routeRegister: route) ?? 0xFF
      guard line != function.header.interruptLine else { continue }
      Log.info(
        "pci \(function.address.description): INTx \(function.header.interruptPinName ?? "") reaches line \(line) (PIRQ \(pirq)), not \(function.header.interruptLine) as the firmware wrote"
      )
      access.write8(function.address, ConfigurationRegister.interruptLine, line)
      functions[index].header.interruptLine = line
    }
  }

  // MARK: - Finding

  static func device(_ handle: DeviceHandle) -> Device? {
    handle.rawValue >= 0 && handle.rawValue < devices.count ? devices[handle.rawValue] : nil
  }

  /// The first usable device from `vendor` with one of `deviceIDs`.
  static func find(vendor: UInt16, deviceIDs: [UInt16]) -> DeviceHandle? {
    devices.first {
      $0.problem == nil && $0.header.vendorID == vendor && deviceIDs.contains($0.header.deviceID)
    }?.handle
  }

  /// Every usable device of a class (and subclass, if given).
  static func find(classCode: UInt8, subclass: UInt8? = nil) -> [DeviceHandle] {
    devices.filter {
      $0.problem == nil && $0.header.classCode == classCode
        && (subclass == nil || $0.header.subclass == subclass)
    }.map { $0.handle }
  }

  // MARK: - Ownership

  /// Hands the device to `owner` (see the header). Assigning a device to its owner again
  /// is harmless; to a revoked device's owner, it re-grants. `allowMSIX: false` forces
  /// INTx (tests of that path). With `busMastering: false` (driver domains) the device
  /// may not reach memory until its owner, having stopped or reset it, says so
  /// (`startBusMastering`): a device taken over from a crashed driver may still hold that
  /// driver's rings, whose memory is freed, and would write into it the moment it could.
  static func assign(
    _ handle: DeviceHandle, to owner: DomainID, allowMSIX: Bool = true, busMastering: Bool = true
  ) throws(DeviceError) {
    guard let device = device(handle) else { throw .noSuchDevice }
    guard device.problem == nil else { throw .unusable }
    if let current = device.owner {
      guard current == owner else { throw .ownedByAnother(current) }
      if device.isRevoked {
        regrant(device)
        if busMastering { device.space.command = device.space.command.union(.busMaster) }
      }
      return
    }
    for bar in device.function.bars where bar.kind.isMemory {
      guard bar.base <= mappableEnd - bar.size else { throw .unmappableBAR(bar.index) }
    }
    for bar in device.function.bars where bar.kind.isMemory { Paging.mapDevice(bar.range) }
    var command = device.space.command.union(.interruptDisable)
    if busMastering { command.insert(.busMaster) } else { command.remove(.busMaster) }
    if device.function.bars.contains(where: { $0.kind == .io }) { command.insert(.ioSpace) }
    if device.function.bars.contains(where: { $0.kind.isMemory }) { command.insert(.memorySpace) }
    device.space.command = command
    device.owner = owner
    device.grants &+= 1
    device.consumed = device.event.count
    DeviceInterrupts.connect(device, allowMSIX: allowMSIX)
    Log.info(
      "pci \(device.address.description): handed to domain \(owner.rawValue), \(interruptName(device.interrupt))"
    )
  }

  /// Lets the owner's device master the bus (DMA), once the owner has stopped or reset
  /// it (see `assign`).
  static func startBusMastering(_ handle: DeviceHandle, by owner: DomainID) throws(DeviceError) {
    let device = try owned(handle, by: owner)
    device.space.command = device.space.command.union(.busMaster)
  }

  /// The owner gives the device back: bus mastering, decoding and its interrupt off.
  static func release(_ handle: DeviceHandle, by owner: DomainID) throws(DeviceError) {
    guard let device = device(handle) else { throw .noSuchDevice }
    guard device.owner == owner else { throw .notOwner }
    DeviceInterrupts.disconnect(device)
    device.space.command = device.space.command.subtracting([.busMaster, .ioSpace, .memorySpace])
    device.owner = nil
    device.isRevoked = false
    device.grants &+= 1
    device.event.signal()  // a waiter wakes and finds the device gone
  }

  /// The device, if `caller` owns it and it is not revoked.
  private static func owned(_ handle: DeviceHandle, by caller: DomainID) throws(DeviceError)
    -> Device
  {
    guard let device = device(handle) else { throw .noSuchDevice }
    guard device.owner == caller else { throw .notOwner }
    guard !device.isRevoked else { throw .revoked }
    return device
  }

  /// `width` bytes (1, 2 or 4) of configuration space at `offset`, naturally aligned.
  static func readConfiguration(
    _ handle: DeviceHandle, by caller: DomainID, offset: Int, width: Int
  )
    throws(DeviceError) -> UInt32
  {
    let device = try owned(handle, by: caller)
    guard ConfigurationSpace<ConfigurationPorts>.isValidAccess(offset: offset, width: width) else {
      throw .badConfigurationAccess(offset: offset, width: width)
    }
    switch width {
    case 1: return UInt32(device.space.read8(offset))
    case 2: return UInt32(device.space.read16(offset))
    default: return device.space.read32(offset)
    }
  }

  /// BAR `index` (0-5) of the caller's device.
  static func bar(_ handle: DeviceHandle, _ index: Int, by caller: DomainID) throws(DeviceError)
    -> DeviceBAR
  {
    let device = try owned(handle, by: caller)
    guard let bar = device.function.bar(index) else { throw .noSuchBAR(index) }
    return DeviceBAR(
      index: bar.index, kind: bar.kind, prefetchable: bar.prefetchable, base: bar.base,
      size: bar.size, address: bar.base)
  }

  /// Blocks the calling thread until the device has interrupted since the caller's last
  /// wait, and returns how many times. An interrupt that came before the call is not lost:
  /// the wait returns at once. For INTx, this is also where the device may assert its line
  /// again, so the owner services the device before waiting.
  /// With a `deadline` (in `Clock.nanoseconds`), the wait ends then at the latest, and
  /// returns 0 if no interrupt came.
  ///
  /// A thread may wake long after the event that woke it (a driver's threads run at the
  /// lowest priority): by then the owner may have crashed and been restarted, the device
  /// re-granted to its new life (same domain, `consumed` moved on), or another thread of
  /// the owner may have waited and consumed more. The first is refused (`grants`
  /// changed); the second counts only what nobody consumed yet.
  static func waitForInterrupt(
    _ handle: DeviceHandle, by caller: DomainID, until deadline: UInt64? = nil
  ) throws(DeviceError) -> UInt64 {
    let device = try owned(handle, by: caller)
    guard device.interrupt != .none else { throw .noInterrupt }
    let grant = device.grants
    DeviceInterrupts.rearm(device)
    let seen =
      if let deadline {
        device.event.wait(after: device.consumed, until: deadline)
      } else {
        device.event.wait(after: device.consumed)
      }
    let fresh = withInterruptsDisabled { () -> UInt64? in
      guard device.owner == caller, !device.isRevoked, device.grants == grant else { return nil }
      guard seen > device.consumed else { return 0 }
      defer { device.consumed = seen }
      return seen - device.consumed
    }
    guard let fresh else { throw .revoked }
    return fresh
  }

  /// Interrupts delivered for the device since boot.
  static func interruptCount(_ handle: DeviceHandle) -> UInt64 {
    device(handle)?.delivered ?? 0
  }

  // MARK: - Crash hooks (DomainManager calls these; see docs/DRIVERS.md)

  /// HOOK for the crash path: call when `owner` crashes, before its memory is reclaimed.
  /// Each device it owns stops mastering the bus (so no DMA lands in freed memory) and
  /// stops interrupting; a thread waiting for it wakes with `.revoked`. The device stays
  /// reserved for `owner`. Safe in the exception handler: no allocation, no blocking.
  static func revoke(owner: DomainID) {
    for device in devices where device.owner == owner && !device.isRevoked {
      device.isRevoked = true
      device.grants &+= 1
      device.space.command = device.space.command.subtracting(.busMaster)
      DeviceInterrupts.mask(device)
      device.event.signal()
      Log.info("pci \(device.address.description): revoked from domain \(owner.rawValue)")
    }
  }

  /// HOOK for the restart path: gives `owner` back the devices `revoke` took, bus
  /// mastering and interrupt on, interrupts from before the crash forgotten. The new
  /// instance must reset the device before trusting it (a virtio device on QEMU drops
  /// DRIVER_OK when bus mastering goes off). `assign` by the owner does the same.
  static func regrant(owner: DomainID) {
    for device in devices where device.owner == owner && device.isRevoked { regrant(device) }
  }

  /// Gives a revoked device back to its owner, bus mastering still off (`assign` and
  /// `startBusMastering` turn it on).
  private static func regrant(_ device: Device) {
    device.isRevoked = false
    device.grants &+= 1
    device.consumed = device.event.count
    DeviceInterrupts.unmask(device)
  }

  static func interruptName(_ interrupt: DeviceInterrupt) -> String {
    switch interrupt {
    case .none: "no interrupt"
    case .msix(let vector): "MSI-X vector \(vector)"
    case .intx(let line): "INTx line \(line)"
    }
  }
}
