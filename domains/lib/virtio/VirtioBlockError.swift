/// Why a virtio-blk request or the driver's setup failed.
public enum VirtioBlockError: Error, Equatable, Sendable {
  /// Finding or setting up the device failed.
  case transport(VirtioError)
  /// The device's request queue is too small for a request (three descriptors).
  case queueTooSmall(Int)
  /// The block lies past the end of the disk.
  case outOfRange(block: UInt64, blockCount: UInt64)
  /// The device is read-only.
  case readOnly
  /// The device does not support the request (status UNSUPP, or a flush without
  /// VIRTIO_BLK_F_FLUSH).
  case unsupported
  /// The device failed the request (status IOERR).
  case ioError
  /// The device answered with a status the spec does not define.
  case unknownStatus(UInt8)
  /// No room in the queue: poll for completions first.
  case queueFull
  /// The buffer is not exactly one block, or the driver could not make it DMA memory.
  case invalidBuffer
  /// The wait for the device was given up; the device was reset.
  case timedOut
  /// The device broke the ring protocol; it was reset.
  case deviceMisbehaved(VirtQueueError)
  /// The device gave request `id` back without writing its status; it was reset.
  case statusNotWritten(id: UInt16)

  /// What went wrong, in words, for a log line; fixed text, so it never allocates.
  public var message: String {
    switch self {
    case .transport(let error): error.message
    case .queueTooSmall: "virtio-blk request queue too small"
    case .outOfRange: "block past the end of the disk"
    case .readOnly: "virtio-blk device is read-only"
    case .unsupported: "virtio-blk device does not support the request"
    case .ioError: "virtio-blk device reported an I/O error"
    case .unknownStatus: "virtio-blk device returned an unknown status"
    case .queueFull: "virtio-blk request queue full"
    case .invalidBuffer: "virtio-blk buffer is not one block of DMA memory"
    case .timedOut: "virtio-blk device did not complete requests in time"
    case .deviceMisbehaved(let error): error.message
    case .statusNotWritten: "virtio-blk device gave a request back without its status"
    }
  }
}
