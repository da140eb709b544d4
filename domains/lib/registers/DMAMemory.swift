/// Memory a device reads and writes by itself (DMA): rings, request headers, buffers.
///
/// The driver addresses it by offset like any window; the device by the addresses in
/// `dmaRegion`, which only the trusted library can make (a shared-heap allocation,
/// physically contiguous, whose address it knows). Driver code never computes a device
/// address: it asks `dmaRegion(at:count:)` for a checked part of the region.
public protocol DMAMemory: MemoryWindow {
  /// Where the device finds the memory: all `byteCount` bytes of it.
  var dmaRegion: DMARegion { get }

  /// Orders memory accesses as the device sees them: every load and store the driver
  /// made before the fence (to this memory or to device registers) happens before any
  /// it makes after. Needed between writing a ring and publishing its index, between
  /// publishing and notifying the device, and between reading the device's index and
  /// the entries it covers. Plain memory for tests may do nothing.
  func fence()
}

extension DMAMemory {
  /// The region of the `count` bytes at `offset`; stops the domain if they are not
  /// inside this memory.
  @inlinable
  public func dmaRegion(at offset: Int, count: Int) -> DMARegion {
    guard let region = dmaRegion.subregion(at: offset, count: count) else {
      preconditionFailure("DMA memory: range outside the memory")
    }
    return region
  }
}
