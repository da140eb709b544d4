/// Register memory a simulated device watches: like `ArrayWindow`, but it tells the
/// device about every load and store, so the device can act on a write (a reset, a
/// queue selection, a notification) or a read (the ISR byte clears when read).
import Registers

final class ObservedWindow: MemoryWindow {
  let memory: ArrayWindow
  var didLoad: (_ offset: Int) -> Void = { _ in }
  var didStore: (_ offset: Int) -> Void = { _ in }

  init(byteCount: Int) { memory = ArrayWindow(byteCount: byteCount) }

  var byteCount: Int { memory.byteCount }

  func load8(at offset: Int) -> UInt8 { loaded(memory.load8(at: offset), offset) }
  func load16(at offset: Int) -> UInt16 { loaded(memory.load16(at: offset), offset) }
  func load32(at offset: Int) -> UInt32 { loaded(memory.load32(at: offset), offset) }
  func load64(at offset: Int) -> UInt64 { loaded(memory.load64(at: offset), offset) }

  func store8(_ value: UInt8, at offset: Int) {
    memory.store8(value, at: offset)
    didStore(offset)
  }
  func store16(_ value: UInt16, at offset: Int) {
    memory.store16(value, at: offset)
    didStore(offset)
  }
  func store32(_ value: UInt32, at offset: Int) {
    memory.store32(value, at: offset)
    didStore(offset)
  }
  func store64(_ value: UInt64, at offset: Int) {
    memory.store64(value, at: offset)
    didStore(offset)
  }

  private func loaded<T>(_ value: T, _ offset: Int) -> T {
    didLoad(offset)
    return value
  }
}
