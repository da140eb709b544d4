/// The address a device uses for an RRef's value, for drivers that DMA in place.
///
/// The shared heap is mapped at its physical address (kernel/domains/SharedMemory.swift)
/// and is physically contiguous, so the value's address is the device's address for
/// all `MemoryLayout<T>.size` bytes of it. The number is only a number to safe code:
/// no pointer can be made from it outside the trusted libraries.
extension RRef {
  public var deviceAddress: UInt64 { UInt64(address) }
}
