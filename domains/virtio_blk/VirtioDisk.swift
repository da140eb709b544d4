/// The disk this domain drives: its device found, mapped and started, or why not.
///
/// Bring-up follows the virtio 1.x PCI transport: identify the function, find the
/// virtio structures through its capability list, map each as a window of its BAR,
/// then let the driver core (domains/lib/virtio) reset the device, negotiate features
/// and set up request queue 0 in DMA memory from the shared heap.
import DeviceAccess
import Registers
import SwiftletInterfaces
import SwiftletLib
import Virtio

/// The windows of one virtio device: slices of its memory BARs.
typealias DeviceWindow = WindowSlice<MMIOWindow>

final class VirtioDisk {
  /// Queue entries the driver asks for: 42 requests of three descriptors in flight.
  static let queueSize = 128
  /// The longest a call waits for its requests: well inside the domain's 2 s call budget
  /// (domains/manifest.json), with room left to reset the device and set it up again.
  /// What the device has not completed by then fails (`.ioError`) and the device is reset.
  static let completionTimeout: UInt64 = 500_000_000
  /// A waiter looks at the ring at least this often: another call, running while it
  /// waits, may take its completion from the ring and the interrupt with it.
  static let lookInterval: UInt64 = 50_000_000

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

  /// Waits for the device's next interrupt, `lookInterval` at most, giving the domain
  /// back meanwhile (other calls may run in the driver: its state is consistent at every
  /// wait); false, at once, once `deadline` has passed: the caller gives up.
  func waitForInterrupt(until deadline: UInt64) -> Bool {
    let now = DomainKernel.nanoseconds
    guard now < deadline else { return false }
    let slice = min(deadline - now, Self.lookInterval)
    switch device.waitForInterrupt(timeoutNanoseconds: slice) {
    case .interrupted:
      if !usesMSIX { _ = driver.interruptArrived() }  // reading the ISR lowers INTx
    case .timedOut:
      break
    case nil:
      // No interrupt to wait for: look again in a millisecond.
      DomainThread.sleep(nanoseconds: min(slice, 1_000_000))
    }
    return true
  }

  /// Acts out a wrong result a fault campaign planned for `request`, which completed
  /// well, as a buggy driver would give it: a read's block comes back with one byte
  /// flipped; a write's block is written again with one byte flipped, so that the disk
  /// holds the wrong data (the caller's buffer goes back as it was), waiting until the
  /// call's `deadline` at most. The status to report: `.ok` whatever the data, unless
  /// the second write failed.
  func actOutWrongResult(_ request: borrowing RRef<BlockRequest>, deadline: UInt64) -> BlockStatus {
    let (operation, block) = request.read { ($0.operation, $0.block) }
    let at = Int(truncatingIfNeeded: block) & (BlockBytes.count - 1)
    request.update { $0.data[at] ^= 0xFF }
    guard operation == .write else { return .ok }
    defer { request.update { $0.data[at] ^= 0xFF } }
    guard let virtio = VirtioBlockRequest(request) else { return .ioError }
    do {
      try driver.perform(virtio, waiting: { self.waitForInterrupt(until: deadline) })
      return .ok
    } catch {
      return .ioError
    }
  }
}

/// Why the domain has no disk, for the log and the boot message.
struct DiskProblem: Error {
  let message: String
  init(_ message: String) { self.message = message }
}
