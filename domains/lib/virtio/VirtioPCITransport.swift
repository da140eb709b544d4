/// The virtio 1.x PCI transport: a device's common configuration, notification, ISR
/// and device configuration structures, each a window the caller mapped from the BAR
/// and range `VirtioPCICapabilities` found, and the steps of bringing a device up.
///
/// The order a driver follows (spec 3.1.1): `initialize` (reset, ACKNOWLEDGE, DRIVER,
/// feature negotiation, FEATURES_OK and its re-check), device-specific setup with
/// `setUpQueue` for each queue and reads of the device configuration, then `start`
/// (DRIVER_OK). Any failure on the way sets FAILED. The transport holds no state of its
/// own beyond the windows, so copies of it drive the same device.
import Registers

public struct VirtioPCITransport<Window: MemoryWindow> {
  public let common: VirtioCommonConfiguration<Window>
  public let notification: Window
  public let notifyOffsetMultiplier: UInt32
  public let interruptStatus: ReadOnlyRegister<Window, InterruptStatus>
  /// The device-specific configuration, if the device has one.
  public let device: Window?

  /// Polls of the status after a reset before giving up: QEMU's devices reset at once,
  /// hardware within microseconds.
  public static var resetPollLimit: Int { 1_000_000 }

  /// Checks that each window is large enough for its structure.
  public init(
    common: Window, notification: Window, notifyOffsetMultiplier: UInt32,
    interruptStatus: Window, device: Window?
  ) throws(VirtioError) {
    guard let block = VirtioCommonConfiguration(fitting: common) else {
      throw .windowTooSmall(.commonConfiguration)
    }
    guard notification.byteCount >= 2 else { throw .windowTooSmall(.notification) }
    guard interruptStatus.byteCount >= 1 else { throw .windowTooSmall(.interruptStatus) }
    self.common = block
    self.notification = notification
    self.notifyOffsetMultiplier = notifyOffsetMultiplier
    self.interruptStatus = ReadOnlyRegister(window: interruptStatus, offset: 0)
    self.device = device
  }

  // MARK: Status

  public var status: DeviceStatus { common.deviceStatus.read() }

  /// Whether the device has hit an error it cannot leave without a reset.
  public var needsReset: Bool { status[.deviceNeedsReset] }

  /// Resets the device and waits until it says it is done (its status reads 0).
  public func reset() throws(VirtioError) {
    common.deviceStatus.write(DeviceStatus(raw: 0))
    for _ in 0..<Self.resetPollLimit where common.deviceStatus.read().raw == 0 { return }
    throw .resetTimedOut
  }

  /// Resets the device so that it lets go of every buffer it was given. Stops the domain
  /// if the reset does not finish: the device may still write those buffers, which must
  /// not go back to their owners, and the kernel turns its DMA off before freeing them.
  public func resetDroppingBuffers() {
    do {
      try reset()
    } catch {
      preconditionFailure("virtio: the device does not reset and may still hold buffers")
    }
  }

  /// Gives up on a device whose set-up failed after it was told where a queue is: marks
  /// it FAILED, then resets it, so that it holds no queue in memory the caller is about
  /// to free. Stops the domain if the reset does not finish (`resetDroppingBuffers`).
  public func abandon() {
    fail()
    resetDroppingBuffers()
  }

  /// Sets a status flag, keeping those set before: the device sees each step once.
  public func setStatus(_ flag: Flag<DeviceStatus, ReadWrite>) {
    common.deviceStatus.modify { $0[flag] = true }
  }

  /// Tells the device the driver has given up on it.
  public func fail() { setStatus(.failed) }

  /// The last step of initialization: the driver is ready and the device may work.
  public func start() { setStatus(.driverOK) }

  // MARK: Features

  /// The features the device offers.
  public func deviceFeatures() -> VirtioFeatures {
    common.deviceFeatureSelect.write(0)
    let low = common.deviceFeature.read()
    common.deviceFeatureSelect.write(1)
    let high = common.deviceFeature.read()
    return VirtioFeatures(low: low, high: high)
  }

  /// Resets the device and takes it through feature negotiation: accepts what it offers
  /// of `required` and `optional` (VIRTIO_F_VERSION_1 is always required) and returns
  /// that. On failure the device is marked FAILED.
  public func initialize(required: VirtioFeatures, optional: VirtioFeatures)
    throws(VirtioError) -> VirtioFeatures
  {
    try reset()
    setStatus(.acknowledge)
    setStatus(.driver)
    let offered = deviceFeatures()
    guard offered.contains(.version1) else {
      fail()
      throw .legacyOnlyDevice
    }
    let missing = required.subtracting(offered)
    guard missing.isEmpty else {
      fail()
      throw .missingFeatures(missing)
    }
    let accepted = offered.intersection(required.union(optional).union(.version1))
    common.driverFeatureSelect.write(0)
    common.driverFeature.write(accepted.low)
    common.driverFeatureSelect.write(1)
    common.driverFeature.write(accepted.high)
    setStatus(.featuresOK)
    guard status[.featuresOK] else {
      fail()
      throw .featuresNotAccepted
    }
    return accepted
  }

  // MARK: Queues

  /// Sets up queue `index` as a split virtqueue of at most `maximumSize` entries (fewer
  /// if the device allows fewer; always a power of two) with its rings at `offset` in
  /// `memory`, using MSI-X `vector` for its interrupts (`noVector`: none, use the ISR),
  /// and enables it. Call between `initialize` and `start`.
  public func setUpQueue<Memory: DMAMemory>(
    _ index: UInt16, maximumSize: Int, memory: Memory, offset: Int = 0,
    vector: UInt16 = VirtioCommonConfiguration<Window>.noVector
  ) throws(VirtioError) -> (queue: VirtQueue<Memory>, notifier: QueueNotifier) {
    common.queueSelect.write(index)
    let deviceMaximum = Int(common.queueSize.read())
    guard deviceMaximum > 0, common.queueEnable.read() == 0 else {
      throw .queueUnavailable(index)
    }
    let size = VirtQueueLayout.largestSize(notAbove: min(deviceMaximum, max(1, maximumSize)))
    let queue: VirtQueue<Memory>
    do {
      queue = try VirtQueue(size: size, memory: memory, offset: offset)
    } catch {
      throw .queueMemoryUnusable(
        needed: VirtQueueLayout(size: size)?.byteCount ?? 0, available: memory.byteCount - offset)
    }
    let notifyOffset = Int(common.queueNotifyOffset.read()) * Int(notifyOffsetMultiplier)
    guard notification.isValidAccess(at: notifyOffset, width: 2) else {
      throw .notificationOutOfRange(queue: index)
    }
    common.queueSize.write(UInt16(size))
    common.queueDescriptorArea.write(queue.descriptorTableRegion.address)
    common.queueDriverArea.write(queue.availableRingRegion.address)
    common.queueDeviceArea.write(queue.usedRingRegion.address)
    if vector != VirtioCommonConfiguration<Window>.noVector {
      common.queueVector.write(vector)
      guard common.queueVector.read() == vector else { throw .vectorRejected(vector) }
    }
    common.queueEnable.write(1)
    return (queue, QueueNotifier(queue: index, offset: notifyOffset))
  }

  /// Tells the device that queue `notifier.queue` has new buffers.
  public func notify(_ notifier: QueueNotifier) {
    notification.store16(notifier.queue, at: notifier.offset)
  }

  // MARK: Interrupts and configuration

  /// Sets the MSI-X vector for configuration-change interrupts.
  public func setConfigurationVector(_ vector: UInt16) throws(VirtioError) {
    common.configurationVector.write(vector)
    guard common.configurationVector.read() == vector else { throw .vectorRejected(vector) }
  }

  /// Reads (and so clears) the ISR status: why the last legacy interrupt came. With
  /// MSI-X, each vector says that by itself and this is not needed.
  public func readInterruptStatus() -> InterruptStatus { interruptStatus.read() }

  /// Runs `read` until the device configuration did not change during it (the
  /// configuration generation is the same before and after), so that a value read in
  /// parts is one value. Gives up after a few tries and returns the last result: a
  /// device that changes all the time gets a possibly torn value, not a hang.
  public func readConfiguration<T>(_ read: () -> T) -> T {
    var tries = 0
    while true {
      let before = common.configurationGeneration.read()
      let value = read()
      tries += 1
      if common.configurationGeneration.read() == before || tries == 8 { return value }
    }
  }
}

/// Where and what to write to notify the device of one queue: `queue` as a 16-bit
/// value at `offset` in the notification window.
public struct QueueNotifier: Equatable, Sendable {
  public let queue: UInt16
  public let offset: Int

  public init(queue: UInt16, offset: Int) {
    self.queue = queue
    self.offset = offset
  }
}
