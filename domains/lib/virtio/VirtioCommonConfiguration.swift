/// The common configuration structure of a modern virtio PCI device (`struct
/// virtio_pci_common_cfg`): features, status, and the per-queue registers of the queue
/// `queueSelect` names.
///
/// 64-bit fields are accessed as two 32-bit halves, which every device must accept.
import Registers

/// Bytes from `device_feature_select` to the end of `queue_device`: what a driver of
/// split rings uses. Newer devices have more after it.
let commonConfigurationByteCount = 0x38

public struct VirtioCommonConfiguration<Window: MemoryWindow>: RegisterBlock {
  public static var byteCount: Int { commonConfigurationByteCount }
  public let window: Window
  public let base: Int

  public init(window: Window, base: Int) {
    self.window = window
    self.base = base
  }

  /// Which half of the device's features `deviceFeature` shows: 0 low, 1 high.
  public var deviceFeatureSelect: ReadWriteRegister<Window, UInt32> { register(at: 0x00) }
  public var deviceFeature: ReadOnlyRegister<Window, UInt32> { register(at: 0x04) }
  /// Which half of the driver's features `driverFeature` takes: 0 low, 1 high.
  public var driverFeatureSelect: ReadWriteRegister<Window, UInt32> { register(at: 0x08) }
  public var driverFeature: ReadWriteRegister<Window, UInt32> { register(at: 0x0C) }
  /// The MSI-X vector for configuration changes.
  public var configurationVector: ReadWriteRegister<Window, UInt16> { register(at: 0x10) }
  public var queueCount: ReadOnlyRegister<Window, UInt16> { register(at: 0x12) }
  /// Writing 0 resets the device.
  public var deviceStatus: ReadWriteRegister<Window, DeviceStatus> { register(at: 0x14) }
  /// Changes whenever the device configuration does (see `VirtioPCITransport`).
  public var configurationGeneration: ReadOnlyRegister<Window, UInt8> { register(at: 0x15) }

  /// The queue the registers below refer to.
  public var queueSelect: ReadWriteRegister<Window, UInt16> { register(at: 0x16) }
  /// Reads the largest size the device allows (0: no such queue); write a smaller one.
  public var queueSize: ReadWriteRegister<Window, UInt16> { register(at: 0x18) }
  public var queueVector: ReadWriteRegister<Window, UInt16> { register(at: 0x1A) }
  public var queueEnable: ReadWriteRegister<Window, UInt16> { register(at: 0x1C) }
  /// Where the queue's notification goes, in units of the notification multiplier.
  public var queueNotifyOffset: ReadOnlyRegister<Window, UInt16> { register(at: 0x1E) }
  /// Device addresses of the descriptor table, available ring and used ring.
  public var queueDescriptorArea: ReadWriteSplitRegister<Window> { register(at: 0x20) }
  public var queueDriverArea: ReadWriteSplitRegister<Window> { register(at: 0x28) }
  public var queueDeviceArea: ReadWriteSplitRegister<Window> { register(at: 0x30) }

  /// The MSI-X vector value that means none (and what the device answers when it
  /// cannot use the vector given).
  public static var noVector: UInt16 { 0xFFFF }
}
