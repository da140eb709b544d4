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
  /// The whole 8-byte words are summed as little-endian 32-bit words (`WordLoads`, one
  /// load each), folded, and byte-swapped: RFC 1071's sum does not depend on byte order
  /// but for that swap. The last few bytes are summed one at a time, those at even
  /// positions (each word's high byte) apart from those at odd ones.
  public mutating func add(_ bytes: Span<UInt8>, from offset: Int, count: Int) {
    let region = bytes.extracting(offset..<offset + count)
    let (words, covered) = WordLoads.littleEndianSum(region)
    var folded = words
    while folded > 0xFFFF { folded = (folded & 0xFFFF) + (folded >> 16) }
    var high: UInt64 = 0
    var low: UInt64 = 0
    var index = covered
    while index + 1 < region.count {
      high &+= UInt64(region[index])
      low &+= UInt64(region[index + 1])
      index += 2
    }
    if index < region.count { high &+= UInt64(region[index]) }
    sum &+= UInt64(UInt16(folded).byteSwapped) &+ high << 8 &+ low
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
