// Bounds-checked reads from the image's bytes.
//
// Every structure the loader reads lies in a `ByteView` whose range was checked against
// the file when the view was made. Reads inside a view check their offset once more, so a
// mistake in the loader stops at a trap instead of reading past the image.

/// A range of bytes already checked to lie inside the image.
struct ByteView {
  let buffer: UnsafeRawBufferPointer

  var count: Int { buffer.count }

  /// The `count` bytes at `offset`, or nil unless all of them lie inside this view.
  func view(at offset: UInt64, count: UInt64) -> ByteView? {
    guard offset <= UInt64(buffer.count), count <= UInt64(buffer.count) - offset else {
      return nil
    }
    let start = Int(offset)
    return ByteView(buffer: UnsafeRawBufferPointer(rebasing: buffer[start..<start + Int(count)]))
  }

  func uint8(at offset: Int) -> UInt8 { load(at: offset) }
  func uint16(at offset: Int) -> UInt16 { load(at: offset) }
  func uint32(at offset: Int) -> UInt32 { load(at: offset) }
  func uint64(at offset: Int) -> UInt64 { load(at: offset) }

  /// The little-endian integer at `offset`; traps if it does not lie inside the view.
  private func load<T: FixedWidthInteger & BitwiseCopyable>(at offset: Int) -> T {
    precondition(
      offset >= 0 && offset <= buffer.count - MemoryLayout<T>.size, "ELF read outside its view")
    return T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
  }
}

extension UnsafeMutableRawBufferPointer {
  /// Stores `value` little-endian at `offset`; traps if it does not lie inside the buffer.
  func storeLittleEndian(_ value: UInt64, at offset: Int) {
    precondition(offset >= 0 && offset <= count - 8, "ELF write outside the destination")
    storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
  }
}
