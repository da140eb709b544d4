/// Fake physical memory for the parser: chunks of bytes at chosen addresses.
///
/// A read succeeds only when the whole range lies inside one chunk, so a test makes an
/// address unreadable by leaving it out, and makes a structure end at an exact address by
/// ending its chunk there. Each chunk owns its bytes at a fixed address for as long as
/// the memory lives, which is what the buffers the parser gets back point into.
import BootInfo

struct FakeMemory: PhysicalMemory {
  private var chunks: [Chunk] = []

  /// Makes `bytes` readable at `address`.
  mutating func map(_ bytes: [UInt8], at address: UInt64) {
    chunks.append(Chunk(address: address, bytes: bytes))
  }

  func bytes(at address: UInt64, count: Int) -> UnsafeRawBufferPointer? {
    guard count >= 0 else { return nil }
    for chunk in chunks where address >= chunk.address {
      let offset = address - chunk.address
      guard offset <= UInt64(chunk.storage.count),
        UInt64(count) <= UInt64(chunk.storage.count) - offset
      else { continue }
      let start = Int(offset)
      return UnsafeRawBufferPointer(rebasing: chunk.storage[start..<start + count])
    }
    return nil
  }
}

/// Bytes at a stable address, freed with the last memory that maps them.
private final class Chunk {
  let address: UInt64
  let storage: UnsafeMutableRawBufferPointer

  init(address: UInt64, bytes: [UInt8]) {
    self.address = address
    storage = .allocate(byteCount: bytes.count, alignment: 8)
    storage.copyBytes(from: bytes)
  }

  deinit { storage.deallocate() }
}
