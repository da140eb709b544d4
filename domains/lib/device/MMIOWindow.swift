/// A window onto a device's registers behind one of its memory BARs.
///
/// The kernel maps the BAR uncached and tells its address and size; every access is
/// checked against the size and done as one volatile load or store of its
/// width, in program order, which is what device registers need.
import Registers

public struct MMIOWindow: MemoryWindow, BitwiseCopyable {
  private let memory: VolatileMemory

  init(base: UInt64, byteCount: Int) {
    memory = VolatileMemory(base: UInt(base), byteCount: byteCount)
  }

  public var byteCount: Int { memory.byteCount }

  public func load8(at offset: Int) -> UInt8 { memory.load(offset) }
  public func load16(at offset: Int) -> UInt16 { memory.load(offset) }
  public func load32(at offset: Int) -> UInt32 { memory.load(offset) }
  public func load64(at offset: Int) -> UInt64 { memory.load(offset) }
  public func store8(_ value: UInt8, at offset: Int) { memory.store(value, offset) }
  public func store16(_ value: UInt16, at offset: Int) { memory.store(value, offset) }
  public func store32(_ value: UInt32, at offset: Int) { memory.store(value, offset) }
  public func store64(_ value: UInt64, at offset: Int) { memory.store(value, offset) }
}
