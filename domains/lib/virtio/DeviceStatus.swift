/// The device status byte, through which driver and device agree on each step of
/// initialization, and the ISR status byte that says why an interrupt came.
import Registers

public struct DeviceStatus: RegisterValue, Equatable, Sendable {
  public var raw: UInt8
  public init(raw: UInt8) { self.raw = raw }
}

extension Flag where Value == DeviceStatus, Access == ReadWrite {
  /// The driver has noticed the device.
  public static var acknowledge: Self { Flag(bit: 0) }
  /// The driver knows how to drive the device.
  public static var driver: Self { Flag(bit: 1) }
  /// The driver is set up and ready to drive the device.
  public static var driverOK: Self { Flag(bit: 2) }
  /// The driver has chosen its features; the device clears it if it disagrees.
  public static var featuresOK: Self { Flag(bit: 3) }
  /// The driver has given up on the device.
  public static var failed: Self { Flag(bit: 7) }
}

extension Flag where Value == DeviceStatus, Access == ReadOnly {
  /// The device hit an error it cannot recover from without a reset.
  public static var deviceNeedsReset: Self { Flag(bit: 6) }
}

/// The ISR status byte. Reading it clears it (and deasserts a legacy interrupt), so it
/// is read once per interrupt; with MSI-X it is not needed.
public struct InterruptStatus: RegisterValue, Equatable, Sendable {
  public var raw: UInt8
  public init(raw: UInt8) { self.raw = raw }
}

extension Flag where Value == InterruptStatus, Access == ReadOnly {
  /// A queue has new used buffers.
  public static var queue: Self { Flag(bit: 0) }
  /// The device configuration has changed (or the device needs a reset).
  public static var configurationChange: Self { Flag(bit: 1) }
}
