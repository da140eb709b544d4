/// The virtio-blk driver domain: the BlockDevice interface over a virtio 1.x PCI disk.
///
/// A thin conformance, as RedLeaf's drivers are: the device logic is the virtio library
/// (domains/lib/virtio), the device access the trusted DeviceAccess library. Requests
/// are done in place: the device reads or writes the caller's RRef buffer by DMA, and
/// the buffer goes back to the caller with the request's status, whatever happened.
import DeviceAccess
import SwiftletInterfaces
import SwiftletLib
import Virtio

final class VirtioBlockService: BlockDevice {
  /// nil if there is no usable disk; every request then says `.noDevice`.
  private let disk: VirtioDisk?

  init() {
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
    request.value.operation = .read
    perform(request)
    return .success(request)
  }

  func write(_ request: consuming RRef<BlockRequest>) -> Result<RRef<BlockRequest>, RpcError> {
    request.value.operation = .write
    perform(request)
    return .success(request)
  }

  func flush() -> Result<BlockStatus, RpcError> {
    guard let disk else { return .success(.noDevice) }
    do {
      try disk.driver.flush(waiting: disk.waitForInterrupt)
      return .success(.ok)
    } catch {
      return .success(Self.status(of: error))
    }
  }

  /// Does one request synchronously and records its status in it.
  private func perform(_ request: borrowing RRef<BlockRequest>) {
    guard let disk else {
      request.value.status = .noDevice
      return
    }
    let block = request.value.block
    let operation: VirtioBlockRequest =
      request.value.operation == .read
      ? .read(block: block, into: request.deviceAddress)
      : .write(block: block, from: request.deviceAddress)
    do {
      try disk.driver.perform(operation, waiting: disk.waitForInterrupt)
      request.value.status = .ok
    } catch {
      request.value.status = Self.status(of: error)
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
