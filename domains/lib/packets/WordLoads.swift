/// Eight bytes per load for the Internet checksum: the one unsafe thing in Packets.
///
/// Trusted (domains/TRUSTED): it reads through the span's own buffer, and only inside
/// it, the whole 8-byte words from its start. Summing byte by byte through a span costs
/// three instructions a byte, about 550 per echoed datagram (scripts/profile_net.py);
/// a word at a time costs under one.
enum WordLoads {
  /// The sum of `region`'s whole 8-byte words taken as little-endian 32-bit words, not
  /// folded, and how many bytes that covered (the count rounded down to a multiple of 8;
  /// the bytes after it are not read).
  static func littleEndianSum(_ region: Span<UInt8>) -> (sum: UInt64, bytes: Int) {
    let whole = region.count & ~7
    guard whole > 0 else { return (0, 0) }
    let sum = unsafe region.withUnsafeBufferPointer { buffer in
      let base = unsafe UnsafeRawPointer(buffer.baseAddress!)
      var total: UInt64 = 0
      var offset = 0
      while offset < whole {
        let word = unsafe base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        total &+= (word & 0xFFFF_FFFF) &+ (word >> 32)
        offset += 8
      }
      return total
    }
    return (sum, whole)
  }
}
