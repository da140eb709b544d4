/// Big-endian fields read from and written into a frame's bytes, in place.
///
/// Every protocol's code checks a header's offsets against the frame's length once,
/// before it reads or writes any field; the span's own bounds checks stay as the last
/// line of defence (a missed check traps, and the fuzzer finds it).

extension Span where Element == UInt8 {
  func uint16(at offset: Int) -> UInt16 {
    UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
  }

  func uint32(at offset: Int) -> UInt32 {
    UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8
      | UInt32(self[offset + 3])
  }

  func ipv4Address(at offset: Int) -> IPv4Address {
    IPv4Address(rawValue: uint32(at: offset))
  }

  func macAddress(at offset: Int) -> MACAddress {
    MACAddress(rawValue: UInt64(uint16(at: offset)) << 32 | UInt64(uint32(at: offset + 2)))
  }
}

extension MutableSpan where Element == UInt8 {
  mutating func setUInt16(_ value: UInt16, at offset: Int) {
    self[offset] = UInt8(truncatingIfNeeded: value >> 8)
    self[offset + 1] = UInt8(truncatingIfNeeded: value)
  }

  mutating func setUInt32(_ value: UInt32, at offset: Int) {
    self[offset] = UInt8(truncatingIfNeeded: value >> 24)
    self[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
    self[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
    self[offset + 3] = UInt8(truncatingIfNeeded: value)
  }

  mutating func setIPv4Address(_ address: IPv4Address, at offset: Int) {
    setUInt32(address.rawValue, at: offset)
  }

  mutating func setMACAddress(_ address: MACAddress, at offset: Int) {
    setUInt16(UInt16(truncatingIfNeeded: address.rawValue >> 32), at: offset)
    setUInt32(UInt32(truncatingIfNeeded: address.rawValue), at: offset + 2)
  }

  /// Zeroes `count` bytes from `offset`.
  mutating func zero(from offset: Int, count: Int) {
    for index in offset..<offset + count { self[index] = 0 }
  }

  /// Moves `count` bytes from `source` down to `destination` (below it), as when a
  /// header's options are dropped and what follows them moves up to the fixed header.
  mutating func moveDown(from source: Int, to destination: Int, count: Int) {
    for index in 0..<count { self[destination + index] = self[source + index] }
  }
}
