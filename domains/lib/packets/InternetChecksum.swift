/// The Internet checksum (RFC 1071) of IPv4 headers, ICMP messages and UDP datagrams,
/// computed in software: QEMU's user and socket back-ends offer no checksum offload.

/// A running ones'-complement sum of big-endian 16-bit words.
public struct InternetChecksum {
  /// Words added without folding: 2^48 of them fit, far more than a frame holds.
  private var sum: UInt64 = 0

  public init() {}

  /// Adds `count` bytes of `bytes` from `offset`, as words; an odd last byte is padded
  /// with a zero byte, as RFC 1071 says.
  public mutating func add(_ bytes: Span<UInt8>, from offset: Int, count: Int) {
    var index = offset
    let end = offset + count
    var total = sum
    while index + 8 <= end {
      total +=
        UInt64(bytes.uint16(at: index)) + UInt64(bytes.uint16(at: index + 2))
        + UInt64(bytes.uint16(at: index + 4)) + UInt64(bytes.uint16(at: index + 6))
      index += 8
    }
    while index + 2 <= end {
      total += UInt64(bytes.uint16(at: index))
      index += 2
    }
    if index < end { total += UInt64(bytes[index]) << 8 }
    sum = total
  }

  public mutating func add(_ word: UInt16) { sum += UInt64(word) }

  public mutating func add(_ address: IPv4Address) {
    sum += UInt64(address.rawValue >> 16) + UInt64(address.rawValue & 0xFFFF)
  }

  /// The sum folded into 16 bits.
  private var folded: UInt16 {
    var total = sum
    while total > 0xFFFF { total = (total & 0xFFFF) + (total >> 16) }
    return UInt16(total)
  }

  /// What goes into a header's checksum field: the complement of the folded sum.
  public var value: UInt16 { ~folded }

  /// Whether data that includes its own checksum field adds up: the folded sum is all
  /// ones.
  public var isValid: Bool { folded == 0xFFFF }
}
