/// The device calls of the system interface: a driver domain reaches its own device,
/// the one its manifest names (`device=vendor:device,...`), and nothing else.
///
/// The first call by the domain (`swiftlet_device_status`, at the driver's start) finds
/// the device and hands it to the domain (DeviceManager.assign); a restarted domain gets
/// it back the same way, since assigning a device to the owner it was revoked from
/// re-grants it. The crash path revokes it first (DomainManager calls
/// `DeviceManager.revoke`), so a dead driver's device masters no more DMA. Domains
/// read these through domains/lib/device.

import PCI

/// Which device each domain drives, once assigned: keyed by domain number.
enum DomainDevices {
  /// Indexed by domain number: every device call looks here, so no hashing.
  nonisolated(unsafe) private static var handles: [DeviceHandle?] = []

  private static func handle(of domain: DomainID) -> DeviceHandle? {
    domain.rawValue < handles.count ? handles[domain.rawValue] : nil
  }

  private static func setHandle(_ handle: DeviceHandle?, of domain: DomainID) {
    while handles.count <= domain.rawValue { handles.append(nil) }
    handles[domain.rawValue] = handle
  }

  /// The calling domain's device, assigned now if this is its first call; or the
  /// status code DeviceAccess reads (-1 none in the manifest, -2 none attached, -3
  /// unusable).
  static func device(of domain: Domain) -> Result<DeviceHandle, DeviceCallError> {
    let id = domain.id
    if let handle = handle(of: id) {
      // Re-grants after a restart; a no-op while it is held.
      do throws(DeviceError) {
        try DeviceManager.assign(handle, to: id, busMastering: false)
        return .success(handle)
      } catch {
        return .failure(.unusable)
      }
    }
    guard let wanted = DeviceIdentity.parse(domain.manifest.device) else {
      return .failure(.notAssigned)
    }
    guard let handle = DeviceManager.find(vendor: wanted.vendor, deviceIDs: wanted.deviceIDs)
    else {
      Log.warning("domain '\(domain.name)': no device \(domain.manifest.device) is attached")
      return .failure(.notFound)
    }
    do throws(DeviceError) {
      try DeviceManager.assign(handle, to: id, busMastering: false)
    } catch {
      Log.warning("domain '\(domain.name)': its device cannot be handed out: \(error.name)")
      return .failure(.unusable)
    }
    setHandle(handle, of: id)
    return .success(handle)
  }

  /// Gives back the device of a domain being destroyed.
  static func release(_ domain: Domain) {
    guard let handle = handle(of: domain.id) else { return }
    setHandle(nil, of: domain.id)
    try? DeviceManager.release(handle, by: domain.id)
  }

  /// The caller's device, if it has been assigned one.
  static var callerDevice: DeviceHandle? {
    handle(of: DomainCall.currentDomain)
  }
}

enum DeviceCallError: Int32, Error {
  case notAssigned = -1
  case notFound = -2
  case unusable = -3
}

/// A manifest's device list, "1af4:1001,1af4:1042": one vendor, several device IDs.
struct DeviceIdentity {
  let vendor: UInt16
  let deviceIDs: [UInt16]

  static func parse(_ text: String) -> DeviceIdentity? {
    var vendor: UInt16?
    var deviceIDs: [UInt16] = []
    for item in text.split(separator: ",") {
      let parts = item.split(separator: ":")
      guard parts.count == 2, let v = UInt16(parts[0], radix: 16),
        let d = UInt16(parts[1], radix: 16), vendor == nil || vendor == v
      else { return nil }
      vendor = v
      deviceIDs.append(d)
    }
    guard let vendor else { return nil }
    return DeviceIdentity(vendor: vendor, deviceIDs: deviceIDs)
  }
}

@_cdecl("swiftlet_device_status")
func swiftletDeviceStatus() -> Int32 {
  guard let domain = DomainManager.current else { return DeviceCallError.notAssigned.rawValue }
  switch DomainDevices.device(of: domain) {
  case .success: return 0
  case .failure(let error): return error.rawValue
  }
}

@_cdecl("swiftlet_device_config_read")
func swiftletDeviceConfigRead(_ offset: Int, _ width: Int) -> Int64 {
  guard let handle = DomainDevices.callerDevice else { return -1 }
  do throws(DeviceError) {
    return Int64(
      try DeviceManager.readConfiguration(
        handle, by: DomainCall.currentDomain, offset: offset, width: width))
  } catch {
    return -1
  }
}

@_cdecl("swiftlet_device_bar")
func swiftletDeviceBar(
  _ index: Int, _ address: UnsafeMutablePointer<UInt64>?, _ size: UnsafeMutablePointer<UInt64>?
) -> Int32 {
  guard let handle = DomainDevices.callerDevice, let address, let size else { return -1 }
  do throws(DeviceError) {
    let bar = try DeviceManager.bar(handle, index, by: DomainCall.currentDomain)
    guard bar.kind.isMemory else { return -1 }
    address.pointee = bar.address
    size.pointee = bar.size
    return 0
  } catch {
    return -1
  }
}

@_cdecl("swiftlet_device_wait_interrupt")
func swiftletDeviceWaitInterrupt() -> Int64 {
  guard let handle = DomainDevices.callerDevice else { return -1 }
  do throws(DeviceError) {
    return Int64(
      truncatingIfNeeded: try DeviceManager.waitForInterrupt(handle, by: DomainCall.currentDomain))
  } catch {
    return -1
  }
}

/// Waits like `swiftlet_device_wait_interrupt`, for `timeoutNanoseconds` at most, with
/// the caller's domain given back meanwhile (as during a sleep: other threads may run
/// calls in it). Returns the interrupts that arrived (0: the time ran out), or negative
/// if it cannot wait.
@_cdecl("swiftlet_device_wait_interrupt_for")
func swiftletDeviceWaitInterruptFor(_ timeoutNanoseconds: UInt64) -> Int64 {
  guard let handle = DomainDevices.callerDevice else { return -1 }
  let caller = DomainCall.currentDomain
  let deadline = Clock.nanoseconds &+ min(timeoutNanoseconds, maximumWait)
  var result: Int64 = -1
  DomainHolding.away {
    do throws(DeviceError) {
      result = Int64(
        truncatingIfNeeded: try DeviceManager.waitForInterrupt(handle, by: caller, until: deadline))
    } catch {
      result = -1
    }
  }
  return result
}

/// The longest a domain's timed wait lasts (an hour): so that a deadline never wraps.
let maximumWait: UInt64 = 3_600_000_000_000

/// Lets the caller's device master the bus: the driver has stopped or reset it, so it
/// holds nothing of a crashed predecessor's. 0, or negative if refused.
@_cdecl("swiftlet_device_start_dma")
func swiftletDeviceStartDMA() -> Int32 {
  guard let handle = DomainDevices.callerDevice else { return -1 }
  do throws(DeviceError) {
    try DeviceManager.startBusMastering(handle, by: DomainCall.currentDomain)
    return 0
  } catch {
    return -1
  }
}

@_cdecl("swiftlet_device_interrupt_kind")
func swiftletDeviceInterruptKind() -> Int32 {
  guard let handle = DomainDevices.callerDevice, let device = DeviceManager.device(handle) else {
    return -1
  }
  switch device.interrupt {
  case .none: return 0
  case .msix: return 1
  case .intx: return 2
  }
}
