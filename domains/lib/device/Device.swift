/// The device this domain owns: its configuration space, its memory BARs and its
/// interrupt, and nothing else.
///
/// The manifest names the device a driver domain gets (`device` in
/// domains/manifest.json); the kernel finds it at boot and hands it to that domain
/// alone. Every call here is answered only for the caller's own device.

/// Why a domain has no device to drive.
public enum DeviceError: Error, Equatable, BitwiseCopyable {
  /// The manifest names a device, but none like it is attached.
  case notFound
  /// The manifest gives this domain no device.
  case notAssigned
  /// The device is there but cannot be used (e.g. its BARs could not be mapped).
  case unusable

  init(code: Int32) {
    switch code {
    case -1: self = .notAssigned
    case -2: self = .notFound
    default: self = .unusable
    }
  }

  public var message: StaticString {
    switch self {
    case .notFound: "no such device is attached"
    case .notAssigned: "the manifest gives this domain no device"
    case .unusable: "the device cannot be used"
    }
  }
}

public struct Device: BitwiseCopyable {
  private init() {}

  /// This domain's device, or why there is none.
  public static func claim() -> Result<Device, DeviceError> {
    let status = kernelDeviceStatus()
    return status == 0 ? .success(Device()) : .failure(DeviceError(code: status))
  }

  /// A read of `width` (1, 2 or 4) bytes at `offset` of the configuration space; nil if
  /// the kernel refuses it (outside the space, misaligned).
  public func configRead(at offset: Int, width: Int) -> UInt32? {
    let value = kernelDeviceConfigRead(offset, width)
    return value < 0 ? nil : UInt32(truncatingIfNeeded: value)
  }

  /// The registers behind memory BAR `index`, or nil if there is no memory BAR there.
  public func bar(_ index: Int) -> MMIOWindow? {
    var address: UInt64 = 0
    var size: UInt64 = 0
    guard unsafe kernelDeviceBar(index, &address, &size) == 0, size <= UInt64(Int.max) else {
      return nil
    }
    return MMIOWindow(base: address, byteCount: Int(size))
  }

  /// Blocks until the device has interrupted since the last wait (an interrupt that
  /// came before the call counts). Returns the number of interrupts so far, or nil if
  /// the device has no interrupt.
  public func waitForInterrupt() -> UInt64? {
    let count = kernelDeviceWaitInterrupt()
    return count < 0 ? nil : UInt64(count)
  }

  /// Blocks until the device has interrupted since the last wait, or
  /// `timeoutNanoseconds` have passed. Unlike `waitForInterrupt()`, it gives the domain
  /// back while it waits, as a sleep does: other threads may run calls in the domain
  /// meanwhile (a driver's transmit while its receive waits), so the driver's state
  /// must be consistent when it calls this. Nil if the device has no interrupt.
  public func waitForInterrupt(timeoutNanoseconds: UInt64) -> InterruptWait? {
    let count = kernelDeviceWaitInterruptFor(timeoutNanoseconds)
    return count < 0 ? nil : count == 0 ? .timedOut : .interrupted
  }

  /// Lets the device reach memory (bus mastering), which it may not after `claim`: call
  /// it once the device is stopped or reset. A device taken over from a crashed instance
  /// of this driver may still hold that instance's rings, whose memory the kernel has
  /// freed; it would write frames or completions into it the moment it could. Returns
  /// false if the kernel refuses (the device is not this domain's).
  public func startDMA() -> Bool { kernelDeviceStartDMA() == 0 }

  /// Whether the kernel set up MSI-X for the device: then every queue may use table
  /// entry 0, which the kernel routed to the device's interrupt; otherwise the device
  /// interrupts through INTx (or not at all).
  public var usesMSIX: Bool { kernelDeviceInterruptKind() == 1 }
}

/// How a timed wait for an interrupt ended.
public enum InterruptWait: Equatable, BitwiseCopyable {
  case interrupted
  case timedOut
}
