/// Why a virtqueue refused a chain or stopped: the caller's mistakes, and a device that
/// broke the ring protocol.
public enum VirtQueueError: Error, Equatable, Sendable {
  /// The size is not a power of two from 1 to 32768.
  case invalidSize(Int)
  /// The memory for the rings is too small, or not 16-byte aligned at the device.
  case memoryUnusable(needed: Int, available: Int)
  /// Not enough free descriptors for the chain; complete some first.
  case full(needed: Int, free: Int)
  /// A chain needs at least one buffer.
  case emptyChain
  /// The spec puts every device-readable buffer of a chain before the device-writable ones.
  case readableAfterWritable
  /// A buffer, or the device-writable buffers of one chain together, exceed 4 GiB.
  case chainTooLong
  /// The device broke the ring protocol; the queue is unusable until the device is reset.
  case deviceMisbehaved(DeviceMisbehaviour)

  /// What the device did wrong.
  public enum DeviceMisbehaviour: Equatable, Sendable {
    /// It returned a descriptor index beyond the table.
    case usedIDOutOfRange(UInt32)
    /// It returned a descriptor that does not head a chain in flight.
    case usedIDNotInFlight(UInt16)
    /// It says it wrote more bytes than the chain's writable buffers hold.
    case usedLengthTooLong(id: UInt16, length: UInt32, writable: UInt32)
    /// Its used index moved past the number of chains in flight.
    case usedIndexTooFar(advance: UInt16, inFlight: Int)
  }

  /// What went wrong, in words, for a log line; fixed text, so it never allocates.
  public var message: String {
    switch self {
    case .invalidSize: "virtqueue size must be a power of two up to 32768"
    case .memoryUnusable: "virtqueue memory too small or misaligned"
    case .full: "virtqueue full"
    case .emptyChain: "virtqueue chain without buffers"
    case .readableAfterWritable: "virtqueue chain has a device-readable buffer after a writable one"
    case .chainTooLong: "virtqueue buffer or chain exceeds 4 GiB"
    case .deviceMisbehaved(.usedIDOutOfRange): "device returned a used id beyond the queue"
    case .deviceMisbehaved(.usedIDNotInFlight): "device returned a used id not in flight"
    case .deviceMisbehaved(.usedLengthTooLong): "device wrote more than the buffers hold"
    case .deviceMisbehaved(.usedIndexTooFar): "device's used index ran past the requests in flight"
    }
  }
}
