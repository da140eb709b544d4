/// A line of text built by string interpolation into a fixed buffer, without the heap.
///
/// Console output must work when the heap is broken (exception reports) or not yet set
/// up (early boot), so everything the kernel prints goes through this type:
/// `Console.print("heap: \(mib: bytes) MiB at \(hex: base)")`. Text past `capacity` is
/// cut off and the line ends with "...".
struct TextLine: ExpressibleByStringInterpolation {
  static let capacity = 240

  private var storage = InlineArray<240, UInt8>(repeating: 0)
  private(set) var count = 0
  private(set) var truncated = false

  init() {}

  init(stringLiteral literal: StaticString) {
    append(literal)
  }

  init(stringInterpolation: StringInterpolation) {
    self = stringInterpolation.line
  }

  subscript(index: Int) -> UInt8 { storage[index] }

  mutating func append(_ byte: UInt8) {
    guard count < TextLine.capacity else {
      truncated = true
      return
    }
    storage[count] = byte
    count += 1
  }

  mutating func append(_ text: StaticString) {
    text.withUTF8Buffer { for byte in $0 { append(byte) } }
  }

  mutating func append(_ text: String) {
    for byte in text.utf8 { append(byte) }
  }

  mutating func append(_ other: TextLine) {
    for index in 0..<other.count { append(other[index]) }
  }

  /// Appends `value` in decimal.
  mutating func append<T: BinaryInteger>(decimal value: T) {
    if value < 0 { append(UInt8(ascii: "-")) }
    var magnitude = UInt64(value.magnitude)
    var digits = InlineArray<20, UInt8>(repeating: 0)
    var used = 0
    repeat {
      digits[used] = UInt8(ascii: "0") + UInt8(magnitude % 10)
      magnitude /= 10
      used += 1
    } while magnitude > 0
    while used > 0 {
      used -= 1
      append(digits[used])
    }
  }

  /// Appends `value` as `0x` and lowercase hex digits, zero-padded to `width` digits.
  mutating func append(hex value: UInt64, width: Int = 1) {
    append("0x")
    var started = false
    for nibble in stride(from: 15, through: 0, by: -1) {
      let digit = UInt8((value >> UInt64(nibble * 4)) & 0xF)
      if digit != 0 || nibble < width || started {
        started = true
        append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
      }
    }
  }

  /// Appends bytes up to the first NUL, or `limit` bytes.
  mutating func append(cString address: UInt64, limit: Int) {
    guard let pointer = UnsafePointer<UInt8>(bitPattern: UInt(address)) else { return }
    for index in 0..<limit {
      let byte = pointer[index]
      if byte == 0 { break }
      append(byte)
    }
  }

  struct StringInterpolation: StringInterpolationProtocol {
    var line = TextLine()

    init(literalCapacity: Int, interpolationCount: Int) {}

    mutating func appendLiteral(_ literal: StaticString) { line.append(literal) }
    mutating func appendInterpolation(_ text: StaticString) { line.append(text) }
    mutating func appendInterpolation(_ text: String) { line.append(text) }
    mutating func appendInterpolation(_ text: TextLine) { line.append(text) }
    mutating func appendInterpolation<T: BinaryInteger>(_ value: T) {
      line.append(decimal: value)
    }
    mutating func appendInterpolation<T: BinaryInteger>(hex value: T, width: Int = 1) {
      line.append(hex: UInt64(truncatingIfNeeded: value), width: width)
    }
    /// A byte count in whole mebibytes, rounded down.
    mutating func appendInterpolation<T: BinaryInteger>(mib bytes: T) {
      line.append(decimal: UInt64(bytes) >> 20)
    }
    mutating func appendInterpolation(_ flag: Bool) {
      line.append(flag ? "true" : "false")
    }
  }
}
