/// Memory a device may be told to read or write: an address as the device sees it, and
/// how many bytes from there, both of one shared-heap buffer the driver owned when the
/// region was made.
///
/// Only the device-access package makes one from an address (the `package` initializer:
/// the trusted DeviceAccess library, from a DMA buffer or from an RRef the calling
/// domain owns at that moment, and the host tests). Driver code, compiled outside the
/// package, can only narrow a region it was given, never widen one or make one from a
/// number, so every address the typed libraries hand a device lies inside memory the
/// driver was given for DMA.
///
/// What this does not cover: a region is a value, so a driver can keep one after the
/// buffer went back to its owner; and a driver that writes raw numbers into device
/// registers or ring memory can still point a device anywhere. Without an IOMMU nothing
/// below the driver stops that (docs/DRIVERS.md).
public struct DMARegion: Equatable, Sendable, BitwiseCopyable {
  /// The device's address of the first byte.
  public let address: UInt64
  public let byteCount: Int

  /// The `byteCount` bytes at device address `address`, which the caller vouches for.
  /// Stops the domain if the range wraps around the address space.
  package init(vouchedAddress address: UInt64, byteCount: Int) {
    precondition(
      byteCount >= 0 && address <= UInt64.max - UInt64(byteCount),
      "DMA region: the range wraps around")
    self.address = address
    self.byteCount = byteCount
  }

  /// The `count` bytes at `offset` in this region, or nil if they do not lie inside it.
  @inlinable
  public func subregion(at offset: Int, count: Int) -> DMARegion? {
    guard offset >= 0, count >= 0, count <= byteCount, offset <= byteCount - count else {
      return nil
    }
    return DMARegion(inside: self, at: offset, count: count)
  }

  /// Part of `region`, already checked to lie inside it (so it cannot wrap around).
  @usableFromInline
  init(inside region: DMARegion, at offset: Int, count: Int) {
    address = region.address &+ UInt64(truncatingIfNeeded: offset)
    byteCount = count
  }
}
