/// A fuzzer's input read as a stream of numbers, which every fuzz target decodes its
/// operations from.
///
/// Past the end every read gives 0, so any byte string is a valid input: a target never
/// rejects one, and the fuzzer's mutations always reach the code under test. Small
/// choices take one byte, so that a mutation of one byte changes one decision.
public struct FuzzInput {
  public let bytes: [UInt8]
  public private(set) var position = 0

  public init(_ bytes: [UInt8]) { self.bytes = bytes }

  public var isAtEnd: Bool { position >= bytes.count }

  /// The next byte, or 0 past the end.
  public mutating func byte() -> UInt8 {
    guard position < bytes.count else { return 0 }
    defer { position += 1 }
    return bytes[position]
  }

  public mutating func bool() -> Bool { byte() & 1 != 0 }

  /// The next `width` bytes as a little-endian number.
  private mutating func number(_ width: Int) -> UInt64 {
    var value: UInt64 = 0
    for index in 0..<width { value |= UInt64(byte()) << (8 * index) }
    return value
  }

  public mutating func uint16() -> UInt16 { UInt16(truncatingIfNeeded: number(2)) }
  public mutating func uint32() -> UInt32 { UInt32(truncatingIfNeeded: number(4)) }
  public mutating func uint64() -> UInt64 { number(8) }

  /// A number in `0..<bound` (`bound` > 0): one byte for bounds up to 256, else two.
  public mutating func below(_ bound: Int) -> Int {
    precondition(bound > 0, "fuzz input: an empty range")
    return bound <= 256 ? Int(byte()) % bound : Int(uint16()) % bound
  }

  /// Up to `count` bytes: fewer at the end of the input.
  public mutating func bytes(_ count: Int) -> [UInt8] {
    let end = min(bytes.count, position + max(0, count))
    defer { position = max(position, end) }
    return position < end ? Array(bytes[position..<end]) : []
  }
}
