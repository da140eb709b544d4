/// Counters a heap keeps about its use, for the shell and for tests.
///
/// Sizes are in whole blocks: a block's header, and the rounding of its size up to 16
/// bytes, count as in use. So `bytesInUse` says how much of `capacity` is taken, and after
/// everything is freed it is 0 again.
public struct HeapStatistics: Equatable {
  /// Bytes in all regions added, after trimming them to 16-byte boundaries.
  public var capacity: Int
  /// Bytes in blocks handed out and not yet freed, headers included.
  public var bytesInUse: Int
  /// The highest `bytesInUse` has been.
  public var peakBytesInUse: Int
  /// Allocations not yet freed.
  public var liveAllocations: Int
  /// Successful calls to `allocate`, ever.
  public var totalAllocations: Int
  /// Calls to `allocate` that returned nil, for lack of memory or a bad request.
  public var failedAllocations: Int

  /// Counters with the given values; all 0 by default, as for a new heap.
  public init(
    capacity: Int = 0, bytesInUse: Int = 0, peakBytesInUse: Int = 0, liveAllocations: Int = 0,
    totalAllocations: Int = 0, failedAllocations: Int = 0
  ) {
    self.capacity = capacity
    self.bytesInUse = bytesInUse
    self.peakBytesInUse = peakBytesInUse
    self.liveAllocations = liveAllocations
    self.totalAllocations = totalAllocations
    self.failedAllocations = failedAllocations
  }
}
