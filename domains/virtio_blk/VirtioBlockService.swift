/// The virtio-blk driver domain: the BlockDevice interface over a virtio 1.x PCI disk.
///
/// A thin conformance, as RedLeaf's drivers are: the device logic is the virtio library
/// (domains/lib/virtio), the device access the trusted DeviceAccess library. Requests
/// are done in place: the device reads or writes the caller's RRef buffer by DMA, and
/// the buffer goes back to the caller with the request's status, whatever happened.
import DeviceAccess
import Registers
import SwiftletInterfaces
import SwiftletLib
import Virtio

final class VirtioBlockService: BlockDevice {
  /// nil if there is no usable disk; every request then says `.noDevice`.
  private var disk: VirtioDisk?

  init() { startDevice() }

  /// A device that broke the queue protocol, or stopped answering, was reset by the
  /// virtio library before any request went back (so it holds none of their buffers);
  /// it is set up again here.
  private func restartDevice() {
    DomainKernel.log("virtio-blk: the device misbehaved; resetting it")
    startDevice()
  }

  private func startDevice() {
    switch VirtioDisk.start() {
    case .success(let disk):
      self.disk = disk
      let driver = disk.driver
      DomainKernel.log(
        "virtio-blk: \(driver.blockCount) blocks of 4 KiB (\(driver.blockCount / 256) MiB), \(driver.isReadOnly ? "read-only" : "writable"), \(driver.canFlush ? "write cache" : "no write cache"), \(driver.capacity) requests in flight, \(disk.usesMSIX ? "MSI-X" : "INTx")"
      )
    case .failure(let problem):
      disk = nil
      DomainKernel.log("virtio-blk: no disk: \(problem.message)")
    }
  }

  func geometry() -> Result<BlockGeometry, RpcError> {
    guard let driver = disk?.driver else {
      return .success(
        BlockGeometry(blockCount: 0, deviceBlockSize: 0, readOnly: true, hasFlush: false))
    }
    return .success(
      BlockGeometry(
        blockCount: driver.blockCount, deviceBlockSize: driver.preferredBlockSize,
        readOnly: driver.isReadOnly, hasFlush: driver.canFlush))
  }

  func read(_ request: consuming RRef<BlockRequest>) -> Result<RRef<BlockRequest>, RpcError> {
    perform(.read, request)
    return .success(request)
  }

  func write(_ request: consuming RRef<BlockRequest>) -> Result<RRef<BlockRequest>, RpcError> {
    perform(.write, request)
    return .success(request)
  }

  func submit(_ batch: consuming RRefDeque<BlockRequest, 32>) -> Result<
    RRefDeque<BlockRequest, 32>, RpcError
  > {
    guard let disk else {
      BlockBatch.markAll(batch, .noDevice)
      return .success(batch)
    }
    if !BlockBatch(disk: disk).run(batch) { restartDevice() }
    return .success(batch)
  }

  func flush() -> Result<BlockStatus, RpcError> {
    guard let disk else { return .success(.noDevice) }
    return .success(
      run(disk) { (driver) throws(VirtioBlockError) in
        try driver.flush(waiting: disk.waitForInterrupt)
      })
  }

  /// Does one request synchronously, the device reading or writing the buffer in
  /// place, and records what happened in it. (The request's fields are touched in place:
  /// copying its 4 KiB out and back would cost more than the rest of the request.)
  private func perform(_ operation: BlockOperation, _ request: borrowing RRef<BlockRequest>) {
    request.update { $0.operation = operation }
    let status: BlockStatus
    if let disk, let virtio = VirtioBlockRequest(request) {
      status = run(disk) { (driver) throws(VirtioBlockError) in
        try driver.perform(virtio, waiting: disk.waitForInterrupt)
      }
    } else {
      status = disk == nil ? .noDevice : .ioError
    }
    request.update { $0.status = status }
  }

  /// Runs `work` on the driver; sets the device up again if it had to be reset.
  private func run(
    _ disk: VirtioDisk,
    _ work: (VirtioBlockDevice<DeviceWindow, DMABuffer>) throws(VirtioBlockError) -> Void
  ) -> BlockStatus {
    do {
      try work(disk.driver)
      return .ok
    } catch {
      if disk.driver.stopped != nil { restartDevice() }
      return Self.status(of: error)
    }
  }

  static func status(of error: VirtioBlockError) -> BlockStatus {
    switch error {
    case .outOfRange: .outOfRange
    case .readOnly: .readOnly
    case .unsupported: .unsupported
    // A device error, or one that broke the queue protocol or never answered: the
    // request did not happen as asked.
    default: .ioError
    }
  }
}

extension VirtioBlockRequest {
  /// The virtio request `request` asks for, the device reading or writing its data in
  /// place; nil if the request is not this domain's to hand to the device.
  init?(_ request: borrowing RRef<BlockRequest>) {
    // `data` is the first field: its 4 KiB start where the allocation does.
    guard let buffer = request.dmaRegion?.subregion(at: 0, count: BlockBytes.count) else {
      return nil
    }
    let (operation, block) = request.read { ($0.operation, $0.block) }
    self =
      operation == .read ? .read(block: block, into: buffer) : .write(block: block, from: buffer)
  }
}
