// The BlockDevice interface: a disk of 4 KiB blocks, read and written with RRef buffers.
import SwiftletLib

/// One 4 KiB block's worth of bytes.
public typealias BlockBytes = InlineArray<4096, UInt8>

/// What a block device is: how many blocks, and whether it takes writes.
public struct BlockGeometry: Equatable, BitwiseCopyable {
  /// The number of 4 KiB blocks; valid block numbers are 0 ..< blockCount.
  public var blockCount: UInt64
  /// The device's own block size in bytes (512 for most disks); requests are 4 KiB.
  public var deviceBlockSize: UInt32
  public var readOnly: Bool
  /// Whether `flush` reaches the device (false: writes are durable when acknowledged).
  public var hasFlush: Bool

  public init(blockCount: UInt64, deviceBlockSize: UInt32, readOnly: Bool, hasFlush: Bool) {
    self.blockCount = blockCount
    self.deviceBlockSize = deviceBlockSize
    self.readOnly = readOnly
    self.hasFlush = hasFlush
  }
}

/// How a request ended, as the device (or the driver, for a bad request) reports it.
public enum BlockStatus: UInt8, Equatable, BitwiseCopyable {
  /// Not done yet: what a new request says.
  case pending
  case ok
  /// The block number is past the end of the device; nothing was read or written.
  case outOfRange
  /// The device reported an I/O error, broke the queue protocol, or did not complete the
  /// request within the driver's timeout (half a second): the driver reset the device,
  /// which dropped the request. The request may or may not have happened: a read's data
  /// is not to be used, and a write may or may not have reached the disk. Also a request
  /// of a call that got no turn at the device (`BlockDevice`): it was never sent.
  case ioError
  /// The device does not do this operation (e.g. flush without the feature).
  case unsupported
  /// A write to a read-only device; nothing was written.
  case readOnly
  /// The driver could not talk to its device (none attached, or it failed to start).
  case noDevice
}

public enum BlockOperation: UInt8, Equatable, BitwiseCopyable {
  case read
  case write
}

/// A request and its buffer, in one shared-heap allocation that moves between caller,
/// driver and device. The device reads or writes `data` in place (DMA).
public struct BlockRequest: BitwiseCopyable {
  /// First, so that the buffer the device sees starts where the allocation does.
  public var data: BlockBytes
  public var block: UInt64
  public var operation: BlockOperation
  public var status: BlockStatus

  public init(read block: UInt64) {
    data = BlockBytes(repeating: 0)
    self.block = block
    operation = .read
    status = .pending
  }

  public init(write block: UInt64, data: BlockBytes) {
    self.data = data
    self.block = block
    operation = .write
    status = .pending
  }
}

/// Errors: every method can return `.domainCrashed`, `.timedOut` or `.unavailable`
/// (the driver crashed, hung or is down). A problem with a request itself (a block past
/// the end, a device error, a read-only device) is not an RpcError: the request comes
/// back with its `status` saying so (buffer rule 3: the buffer always comes back).
/// That includes a device that never completes a request: no call waits for the device
/// longer than half a second (well inside the driver's call budget); the driver then
/// resets the device, sets it up again, and every request it had not completed comes
/// back `.ioError` (a flush too), while those it had completed keep their status. So a
/// silent device never costs the caller more than that wait, nor an `RpcError`. Calls
/// take turns at the device, first come first served; a call that waited 1 s for its
/// turn, or found 64 calls already queued for it, comes back at once with every request
/// `.ioError`, unsent.
///
/// Ownership: a request moved into `read`, `write` or `submit` belongs to the driver
/// and the device until the call returns it; if the driver crashes during the call, the
/// requests moved in are gone with it (the caller makes new ones).
public protocol BlockDevice {
  /// The device's size and features.
  ///
  /// - Idempotent: it only reads the device's configuration.
  func geometry() -> Result<BlockGeometry, RpcError>

  /// Reads block `request.block` into `request.data` and returns the request with its
  /// status.
  func read(_ request: consuming RRef<BlockRequest>) -> Result<RRef<BlockRequest>, RpcError>

  /// Writes `request.data` to block `request.block` and returns the request with its
  /// status. `.ok` means the device has acknowledged the write; `flush` makes it durable.
  func write(_ request: consuming RRef<BlockRequest>) -> Result<RRef<BlockRequest>, RpcError>

  /// Makes every acknowledged write durable. Returns `.ok` when they are (at once if
  /// the device has no write cache to flush), or the device's error.
  func flush() -> Result<BlockStatus, RpcError>

  /// Does a batch of reads and writes, up to 32 at once in flight at the device, and
  /// gives the batch back with every request's status set, in the order given. For
  /// throughput: one call and one device notification for the whole batch.
  func submit(_ batch: consuming RRefDeque<BlockRequest, 32>) -> Result<
    RRefDeque<BlockRequest, 32>, RpcError
  >
}
