/// DMA memory: a shared-heap allocation that the device reads and writes by address.
///
/// The shared heap is one physically contiguous region that the kernel maps at its
/// physical address (kernel/domains/SharedMemory.swift), so an allocation's address is
/// also the address the device uses, and any range inside it is contiguous. The buffer
/// belongs to the domain that made it; if that domain crashes, the kernel first stops
/// its device's DMA (bus mastering off) and then reclaims the memory.
///
/// Accesses are volatile, so the compiler neither drops nor reorders them against each
/// other; `fence` adds the CPU's full barrier where a device must see one thing before
/// another.
import Registers
import Synchronization

public final class DMABuffer: DMAMemory {
  private let memory: VolatileMemory
  public let dmaRegion: DMARegion

  /// `byteCount` zeroed bytes aligned to `alignment` (a power of two, at most a page),
  /// or nil if the shared heap is full.
  public init?(byteCount: Int, alignment: Int = 4096) {
    precondition(byteCount > 0 && alignment > 0 && alignment & (alignment - 1) == 0)
    guard let memory = unsafe kernelSharedAllocate(byteCount, alignment, 0x444D_4100) else {
      return nil
    }
    unsafe memory.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    self.memory = VolatileMemory(base: UInt(bitPattern: memory), byteCount: byteCount)
    dmaRegion = DMARegion(vouchedAddress: UInt64(self.memory.base), byteCount: byteCount)
  }

  deinit {
    unsafe kernelSharedFree(UnsafeMutableRawPointer(bitPattern: memory.base))
  }

  public var byteCount: Int { memory.byteCount }

  public func fence() { atomicMemoryFence(ordering: .sequentiallyConsistent) }

  public func load8(at offset: Int) -> UInt8 { memory.load(offset) }
  public func load16(at offset: Int) -> UInt16 { memory.load(offset) }
  public func load32(at offset: Int) -> UInt32 { memory.load(offset) }
  public func load64(at offset: Int) -> UInt64 { memory.load(offset) }
  public func store8(_ value: UInt8, at offset: Int) { memory.store(value, offset) }
  public func store16(_ value: UInt16, at offset: Int) { memory.store(value, offset) }
  public func store32(_ value: UInt32, at offset: Int) { memory.store(value, offset) }
  public func store64(_ value: UInt64, at offset: Int) { memory.store(value, offset) }
}
