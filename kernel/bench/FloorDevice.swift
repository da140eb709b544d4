/// A device lent to the kernel for a floor measurement, and given back afterwards.
///
/// The floors drive the very device a driver domain drives, in the same boot, so the
/// domain must let go of it first. Taking it destroys the driver domain (and any other
/// that names the device in its manifest, so none grabs it meanwhile): destruction
/// unwinds the domain's threads, stops its device's bus mastering before its memory is
/// freed, and releases the device (DomainManager.destroy). The kernel then owns the
/// device like any driver (DeviceManager.assign). Giving it back releases it and starts
/// each destroyed driver again from its image, which resets the device and takes it
/// as at boot. A device no domain drives (no driver built yet) is simply free: the
/// loan takes it and releases it.
import PCI

struct FloorDevice {
  let handle: DeviceHandle
  let device: Device
  /// The driver domains stopped for the loan.
  let drivers: [Domain]

  /// The first usable device `vendor:deviceIDs`, without taking it.
  static func find(vendor: UInt16, deviceIDs: [UInt16]) -> Device? {
    DeviceManager.find(vendor: vendor, deviceIDs: deviceIDs).flatMap { DeviceManager.device($0) }
  }

  /// Takes `device` from its drivers for the kernel. `quiesce` runs between the drivers'
  /// end and the kernel's assignment, with the device's memory BARs mapped and decoded but
  /// not yet mastering the bus: what a device needs stopped before it may master the bus
  /// again (an e1000 would otherwise DMA the frames QEMU queued into a dead driver's
  /// buffers the moment bus mastering comes back). Fails, saying why, if it cannot.
  static func take(_ device: Device, quiesce: (Device) -> Void = { _ in }) -> Result<
    FloorDevice, FloorError
  > {
    let wanted = { (domain: Domain) -> Bool in
      guard domain.state != .destroyed else { return false }
      if device.owner == domain.id { return true }
      guard domain.state == .running, let identity = DeviceIdentity.parse(domain.manifest.device)
      else { return false }
      return identity.vendor == device.header.vendorID
        && identity.deviceIDs.contains(device.header.deviceID)
    }
    let drivers = DomainManager.domains.filter(wanted)
    for driver in drivers { DomainManager.destroy(driver) }
    // The destroyed domains' threads (at domain priority) unwind when they next run.
    if !drivers.isEmpty { Scheduler.sleep(nanoseconds: 2_000_000) }
    if let owner = device.owner {
      return .failure(FloorError("the device is held by domain \(owner.rawValue)"))
    }
    var decoding = device.space.command
    for bar in device.function.bars where bar.kind.isMemory {
      guard bar.base <= DeviceManager.mappableEnd - bar.size else {
        return .failure(FloorError("BAR\(bar.index) cannot be mapped"))
      }
      Paging.mapDevice(bar.range)
      decoding.insert(.memorySpace)
    }
    device.space.command = decoding.subtracting(.busMaster)
    quiesce(device)
    do throws(DeviceError) {
      try DeviceManager.assign(device.handle, to: .kernel)
    } catch {
      return .failure(FloorError("the kernel cannot take it: \(error.name)"))
    }
    return .success(FloorDevice(handle: device.handle, device: device, drivers: drivers))
  }

  /// The memory window of BAR `index`, or nil if it is not a memory BAR.
  func memoryBAR(_ index: Int) -> FloorWindow? {
    guard let bar = device.function.bar(index), bar.kind.isMemory else { return nil }
    return FloorWindow(base: bar.base)
  }

  /// The first port of BAR `index`, or nil if it is not an I/O BAR.
  func portBAR(_ index: Int) -> UInt16? {
    guard let bar = device.function.bar(index), bar.kind == .io else { return nil }
    return UInt16(truncatingIfNeeded: bar.base)
  }

  /// Releases the device (the caller has stopped it) and starts its drivers again. Says
  /// what became of each; true if every driver runs again.
  @discardableResult
  func giveBack() -> Bool {
    try? DeviceManager.release(handle, by: .kernel)
    var running = true
    for driver in drivers {
      if case .failure(let error) = DomainManager.restart(driver) {
        Log.error("domain '\(driver.name)': not started again after the floor: \(error.message)")
        running = false
      }
    }
    return running
  }

  /// "domain 'virtio_blk'", or "no driver domain", for the log.
  var driverNames: String {
    drivers.isEmpty
      ? "no driver domain" : "domain '" + drivers.map { $0.name }.joined(separator: "', '") + "'"
  }
}

struct FloorError: Error {
  let message: TextLine
  init(_ message: TextLine) { self.message = message }
}
