/// An RRef's value used where it lies: for big values (a 4 KiB block) that `value`,
/// which copies the whole value out and back, would make slow.
///
/// The shared heap is mapped at its physical address (kernel/domains/SharedMemory.swift)
/// and is physically contiguous, so the value's address is also the address a device
/// uses for all `MemoryLayout<T>.size` bytes of it: drivers hand it to their device to
/// DMA in place. The number is only a number to safe code: no pointer can be made from
/// it outside the trusted libraries.
extension RRef {
  public var deviceAddress: UInt64 { UInt64(address) }

  /// Runs `body` on the value in place, without copying it.
  public func read<Result>(_ body: (borrowing T) -> Result) -> Result {
    unsafe body(UnsafePointer<T>(bitPattern: address)!.pointee)
  }

  /// Runs `body` on the value in place; what it changes is changed in the shared heap.
  public func update<Result>(_ body: (inout T) -> Result) -> Result {
    unsafe body(&UnsafeMutablePointer<T>(bitPattern: address)!.pointee)
  }
}
