/// The disk this domain drives: its device found, mapped and started, or why not.
///
/// Bring-up follows the virtio 1.x PCI transport: identify the function, find the
/// virtio structures through its capability list, map each as a window of its BAR,
/// then let the driver core (domains/lib/virtio) reset the device, negotiate features
/// and set up request queue 0 in DMA memory from the shared heap.
import DeviceAccess
import Registers
import Virtio

/// The windows of one virtio device: slices of its memory BARs.
typealias DeviceWindow = WindowSlice<MMIOWindow>

final class VirtioDisk {
  /// Queue entries the driver asks for: 42 requests of three descriptors in flight.
  static let queueSize = 128

  let device: Device
  let driver: VirtioBlockDevice<DeviceWindow, DMABuffer>
  /// MSI-X tells which queue completed by the message itself; INTx needs the ISR read.
  let usesMSIX: Bool

  private init(
    device: Device, driver: VirtioBlockDevice<DeviceWindow, DMABuffer>, usesMSIX: Bool
  ) {
    self.device = device
    self.driver = driver
    self.usesMSIX = usesMSIX
  }

  /// Finds, maps and starts the disk, or says in words why there is none.
  static func start() -> Result<VirtioDisk, DiskProblem> {
    let device: Device
    switch Device.claim() {
    case .success(let claimed): device = claimed
    case .failure(let error): return .failure(DiskProblem("\(error.message)"))
    }
    let config = PCIConfigurationReader { device.configRead(at: $0, width: $1) }
    let transport: VirtioPCITransport<DeviceWindow>
    do {
      let identity = try VirtioPCIIdentity(reading: config)
      guard identity.deviceType == VirtioPCIIdentity.blockDeviceType else {
        return .failure(
          DiskProblem("the device is virtio type \(identity.deviceType), not a block device"))
      }
      transport = try VirtioPCITransport(reading: config) { device.bar($0) }
      // A crashed instance may have left the device holding its queues, in memory the
      // kernel has freed: reset it before it may reach memory again.
      try transport.reset()
    } catch {
      return .failure(DiskProblem(error.message))
    }
    guard device.startDMA() else {
      return .failure(DiskProblem("the kernel refuses the device DMA"))
    }
    let memoryBytes = VirtioBlockDevice<DeviceWindow, DMABuffer>.memoryByteCount(
      queueSize: queueSize)
    guard let memory = DMABuffer(byteCount: memoryBytes) else {
      return .failure(DiskProblem("no shared memory for the request queue"))
    }
    let usesMSIX = device.usesMSIX
    let noVector = VirtioCommonConfiguration<DeviceWindow>.noVector
    do {
      let driver = try VirtioBlockDevice(
        transport: transport, memory: memory, maximumQueueSize: queueSize,
        queueVector: usesMSIX ? 0 : noVector, configurationVector: noVector)
      return .success(VirtioDisk(device: device, driver: driver, usesMSIX: usesMSIX))
    } catch {
      return .failure(DiskProblem(error.message))
    }
  }

  /// Waits for the device's next interrupt; false if it has none to wait for.
  func waitForInterrupt() -> Bool {
    guard device.waitForInterrupt() != nil else { return false }
    if !usesMSIX { _ = driver.interruptArrived() }  // reading the ISR lowers INTx
    return true
  }
}

/// Why the domain has no disk, for the log and the boot message.
struct DiskProblem: Error {
  let message: String
  init(_ message: String) { self.message = message }
}
