/// An RRef's value used where it lies: for big values (a 4 KiB block) that `value`,
/// which copies the whole value out and back, would make slow; and, for the trusted
/// device library only, where that is, so that a device can DMA into it in place.
extension RRef {
  /// Runs `body` on the value in place, without copying it.
  public func read<Result>(_ body: (borrowing T) -> Result) -> Result {
    unsafe body(UnsafePointer<T>(bitPattern: address)!.pointee)
  }

  /// Runs `body` on the value in place; what it changes is changed in the shared heap.
  public func update<Result>(_ body: (inout T) -> Result) -> Result {
    unsafe body(&UnsafeMutablePointer<T>(bitPattern: address)!.pointee)
  }

  /// Where the value's `MemoryLayout<T>.size` bytes lie, nil unless the registry
  /// header names this domain as the owner right now (a lent view gives none). The
  /// shared heap is mapped at its physical address and is physically contiguous
  /// (kernel/domains/SharedMemory.swift), so this is also where a device finds them.
  /// `@unsafe` because domain code names no raw shared-heap address: DeviceAccess turns
  /// this into a `DMARegion` (`rref.dmaRegion`), the only form a device library takes.
  @unsafe public var ownedStorage: (address: UInt, byteCount: Int)? {
    owner == thisDomainID() ? (address, MemoryLayout<T>.size) : nil
  }
}
