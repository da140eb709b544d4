/// The virtio-blk driver domain: the BlockDevice interface over a virtio 1.x PCI disk.
///
/// A thin conformance, as RedLeaf's drivers are: the device logic is the virtio library
/// (domains/lib/virtio), the device access the trusted DeviceAccess library. Requests
/// are done in place: the device reads or writes the caller's RRef buffer by DMA, and
/// the buffer goes back to the caller with the request's status, whatever happened.
///
/// A call waits for the device `VirtioDisk.completionTimeout` at most, and gives the
/// domain back while it waits; calls take turns at the device (`DeviceTurn`), in the
/// order they came, so one call's requests never crowd another's out of the queue and no
/// caller is passed over. A call that does not get its turn in time
/// (`DeviceTurn.longestWait`), or finds 64 calls already queued for it, gives its
/// requests back `.ioError`, unsent.
import DeviceAccess
import Registers
import SwiftletInterfaces
import SwiftletLib
import Virtio

final class VirtioBlockService: BlockDevice {
  /// nil if there is no usable disk; every request then says `.noDevice`.
  private var disk: VirtioDisk?
  private let turn = DeviceTurn()

  init() { startDevice() }

  /// A device that broke the queue protocol, or did not complete requests in time, was
  /// reset by the virtio library before any request went back (so it holds none of
  /// their buffers); it is set up again here, unless another call did so while this
  /// one waited. Its DMA memory is freed only after it was reset (by the library) and
  /// the new one set up; a set-up that fails leaves the device reset.
  private func restartDevice(_ failed: VirtioDisk) {
    guard disk === failed, let reason = failed.driver.stopped else { return }
    DomainKernel.log("virtio-blk: the device was reset (\(reason.message)); setting it up again")
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
    guard disk != nil else {
      BlockBatch.markAll(batch, .noDevice)
      return .success(batch)
    }
    guard let ticket = turn.take() else {
      BlockBatch.markAll(batch, .ioError)
      return .success(batch)
    }
    defer { turn.give(ticket) }
    // The disk as it is once the turn is taken: the previous turn may have set it up anew.
    guard let disk else {
      BlockBatch.markAll(batch, .noDevice)
      return .success(batch)
    }
    if !BlockBatch(disk: disk).run(batch) { restartDevice(disk) }
    return .success(batch)
  }

  func flush() -> Result<BlockStatus, RpcError> {
    guard disk != nil else { return .success(.noDevice) }
    guard let ticket = turn.take() else { return .success(.ioError) }
    defer { turn.give(ticket) }
    guard let disk else { return .success(.noDevice) }
    let deadline = DomainKernel.nanoseconds &+ VirtioDisk.completionTimeout
    return .success(
      run(disk) { (driver) throws(VirtioBlockError) in
        try driver.flush(waiting: { disk.waitForInterrupt(until: deadline) })
      })
  }

  /// Does one request synchronously, the device reading or writing the buffer in
  /// place, and records what happened in it. (The request's fields are touched in place:
  /// copying its 4 KiB out and back would cost more than the rest of the request.)
  private func perform(_ operation: BlockOperation, _ request: borrowing RRef<BlockRequest>) {
    request.update { $0.operation = operation }
    guard disk != nil else {
      request.update { $0.status = .noDevice }
      return
    }
    guard let ticket = turn.take() else {
      request.update { $0.status = .ioError }
      return
    }
    defer { turn.give(ticket) }
    var status: BlockStatus
    if let disk, let virtio = VirtioBlockRequest(request) {
      var faults = CompletionFaults()
      let deadline = DomainKernel.nanoseconds &+ VirtioDisk.completionTimeout
      status = run(disk) { (driver) throws(VirtioBlockError) in
        try driver.perform(
          virtio, waiting: { disk.waitForInterrupt(until: deadline) }, faults: { faults.next() })
      }
      if status == .ok && faults.takeWrongResult() {
        status = disk.actOutWrongResult(request, deadline: deadline)
        if disk.driver.stopped != nil { restartDevice(disk) }
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
      restartDevice(disk)
      return Self.status(of: error)
    }
  }

  static func status(of error: VirtioBlockError) -> BlockStatus {
    switch error {
    case .outOfRange: .outOfRange
    case .readOnly: .readOnly
    case .unsupported: .unsupported
    // A device error, or a device that broke the queue protocol or did not complete
    // the request in time (`.timedOut`; it was reset): the request may not have
    // happened as asked.
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
