/// Memory a device reads and writes by itself (DMA): rings, request headers, buffers.
///
/// The driver addresses it by offset like any window; the device addresses it by
/// `deviceAddress + offset`, which the driver writes into descriptors and registers.
/// The trusted library backs it with a physically contiguous shared-heap allocation and
/// knows the address; driver code never computes one from a pointer, it asks
/// `deviceAddress(at:count:)`, which checks that the range lies inside.
public protocol DMAMemory: MemoryWindow {
  /// The address the device uses for offset 0.
  var deviceAddress: UInt64 { get }

  /// Orders memory accesses as the device sees them: every load and store the driver
  /// made before the fence (to this memory or to device registers) happens before any
  /// it makes after. Needed between writing a ring and publishing its index, between
  /// publishing and notifying the device, and between reading the device's index and
  /// the entries it covers. Plain memory for tests may do nothing.
  func fence()
}

extension DMAMemory {
  /// The device address of the `count` bytes at `offset`; stops the domain if they are
  /// not inside this memory.
  @inlinable
  public func deviceAddress(at offset: Int, count: Int = 1) -> UInt64 {
    precondition(contains(offset: offset, count: count), "DMA memory: range outside the memory")
    return deviceAddress + UInt64(offset)
  }
}
