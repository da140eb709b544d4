/// The Internet checksum (RFC 1071) of IPv4 headers, ICMP messages and UDP datagrams,
/// computed in software: QEMU's user and socket back-ends offer no checksum offload.

/// A running ones'-complement sum of big-endian 16-bit words.
public struct InternetChecksum {
  /// Words added without folding: 2^48 of them fit, far more than a frame holds.
  private var sum: UInt64 = 0

  public init() {}

  /// Adds `count` bytes of `bytes` from `offset`, as words; an odd last byte is padded
  /// with a zero byte, as RFC 1071 says.
  ///
  /// The bytes at even positions (each word's high byte) and at odd positions are summed
  /// apart and combined at the end, which gives the same one's-complement sum. The loop
  /// takes eight bytes through a span of exactly eight, so the compiler drops the bounds
  /// checks: three instructions a byte, where a word at a time through `uint16(at:)` took
  /// six and a half (scripts/profile_net.py).
  public mutating func add(_ bytes: Span<UInt8>, from offset: Int, count: Int) {
    var rest = bytes.extracting(offset..<offset + count)
    var high: UInt64 = 0
    var low: UInt64 = 0
    while rest.count >= 8 {
      let eight = rest.extracting(first: 8)
      high &+= UInt64(eight[0]) &+ UInt64(eight[2]) &+ UInt64(eight[4]) &+ UInt64(eight[6])
      low &+= UInt64(eight[1]) &+ UInt64(eight[3]) &+ UInt64(eight[5]) &+ UInt64(eight[7])
      rest = rest.extracting(droppingFirst: 8)
    }
    var index = 0
    while index + 1 < rest.count {
      high &+= UInt64(rest[index])
      low &+= UInt64(rest[index + 1])
      index += 2
    }
    if index < rest.count { high &+= UInt64(rest[index]) }
    sum &+= high << 8 &+ low
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
