/// The test disk's pattern: every 4 KiB block says which block it is and carries a CRC.
///
/// The same layout as scripts/diskimage.py, which makes the disk and checks it after
/// the boot: bytes 0..<8 the block number, 8..<16 the generation (0 as made, then what
/// a test wrote), 16..<4092 the word `number * 0x9E3779B97F4A7C15 + generation`
/// repeated, 4092..<4096 the CRC-32 (IEEE, as zlib computes it) of the rest.
import SwiftletInterfaces

enum BlockPattern {
  static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15
  static let crcOffset = 4092

  /// Block `number` as a test writes it with `generation`.
  static func bytes(block number: UInt64, generation: UInt64) -> BlockBytes {
    var bytes = BlockBytes(repeating: 0)
    fill(&bytes, block: number, generation: generation)
    return bytes
  }

  /// Writes block `number`'s pattern with `generation` into `bytes`, in place (a kernel
  /// thread's stack has room for few 4 KiB copies).
  static func fill(_ bytes: inout BlockBytes, block number: UInt64, generation: UInt64) {
    store(number, at: 0, in: &bytes)
    store(generation, at: 8, in: &bytes)
    let word = number &* golden &+ generation
    var offset = 16
    while offset < crcOffset {
      bytes[offset] = UInt8(truncatingIfNeeded: word >> (8 * UInt64((offset - 16) % 8)))
      offset += 1
    }
    let crc = crc32(bytes, count: crcOffset)
    for index in 0..<4 {
      bytes[crcOffset + index] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(index)))
    }
  }

  /// What a block read back says about itself: nil if it is intact and is block
  /// `number`, otherwise why not.
  static func problem(in bytes: borrowing BlockBytes, expectedBlock number: UInt64) -> StaticString?
  {
    if load(at: 0, in: bytes) != number { return "wrong block number" }
    var stored: UInt32 = 0
    for index in 0..<4 { stored |= UInt32(bytes[crcOffset + index]) << (8 * UInt32(index)) }
    if stored != crc32(bytes, count: crcOffset) { return "bad checksum" }
    return nil
  }

  static func generation(of bytes: borrowing BlockBytes) -> UInt64 { load(at: 8, in: bytes) }

  private static func store(_ value: UInt64, at offset: Int, in bytes: inout BlockBytes) {
    for index in 0..<8 {
      bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))
    }
  }

  private static func load(at offset: Int, in bytes: borrowing BlockBytes) -> UInt64 {
    var value: UInt64 = 0
    for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
    return value
  }

  /// CRC-32 with the reflected IEEE polynomial, a byte at a time through a table.
  static func crc32(_ bytes: borrowing BlockBytes, count: Int) -> UInt32 {
    let span = bytes.span
    var crc: UInt32 = 0xFFFF_FFFF
    crcTable.withUnsafeBufferPointer { table in
      for index in 0..<count {
        crc = (crc >> 8) ^ table[Int(UInt8(truncatingIfNeeded: crc) ^ span[index])]
      }
    }
    return ~crc
  }

  private static let crcTable: [UInt32] = (0..<256).map { entry in
    var crc = UInt32(entry)
    for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    return crc
  }
}
