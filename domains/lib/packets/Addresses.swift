/// Ethernet and IPv4 addresses and UDP endpoints, as plain values.
///
/// They cross calls (the network interfaces in domains/interfaces use them) and they
/// are what the packet parsers read and the builders write, so they have one
/// definition, here, in a module that also builds on the host for unit tests.

/// A 48-bit Ethernet address; `rawValue` holds it with the first byte on the wire in
/// bits 47-40.
public struct MACAddress: Equatable, Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
  public var rawValue: UInt64

  public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

  public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8, _ b5: UInt8) {
    rawValue = [b0, b1, b2, b3, b4, b5].reduce(0) { $0 << 8 | UInt64($1) }
  }

  public static var broadcast: MACAddress { MACAddress(rawValue: 0xFFFF_FFFF_FFFF) }
  public static var zero: MACAddress { MACAddress(rawValue: 0) }

  /// Byte `index` (0 ..< 6) in wire order.
  public func byte(_ index: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: rawValue >> UInt64(8 * (5 - index)))
  }

  /// A group (multicast or broadcast) address: the low bit of the first byte.
  public var isGroup: Bool { byte(0) & 1 != 0 }

  /// `52:54:00:12:34:56`.
  public var description: String {
    var text = ""
    for index in 0..<6 {
      if index > 0 { text += ":" }
      text += hexByte(byte(index))
    }
    return text
  }
}

/// An IPv4 address; `rawValue` holds it in host order (10.0.2.15 is 0x0A00_020F).
public struct IPv4Address: Equatable, Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
  public var rawValue: UInt32

  public init(rawValue: UInt32) { self.rawValue = rawValue }

  public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
    rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
  }

  public static var any: IPv4Address { IPv4Address(rawValue: 0) }
  public static var broadcast: IPv4Address { IPv4Address(rawValue: 0xFFFF_FFFF) }

  /// Byte `index` (0 ..< 4) in wire order.
  public func byte(_ index: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: rawValue >> UInt32(8 * (3 - index)))
  }

  /// `10.0.2.15`.
  public var description: String {
    "\(byte(0)).\(byte(1)).\(byte(2)).\(byte(3))"
  }

  /// Parses dotted-quad text (`10.0.2.15`); nil unless it is exactly four numbers of
  /// 0-255 separated by dots.
  public init?(_ text: some StringProtocol) {
    var value: UInt32 = 0
    var parts = 0
    for part in text.split(separator: ".", omittingEmptySubsequences: false) {
      guard parts < 4, !part.isEmpty, part.count <= 3, let number = UInt8(part) else {
        return nil
      }
      value = value << 8 | UInt32(number)
      parts += 1
    }
    guard parts == 4 else { return nil }
    rawValue = value
  }
}

/// A UDP (or TCP) endpoint: an address and a port.
public struct IPv4Endpoint: Equatable, Hashable, Sendable, BitwiseCopyable, CustomStringConvertible
{
  public var address: IPv4Address
  public var port: UInt16

  public init(address: IPv4Address, port: UInt16) {
    self.address = address
    self.port = port
  }

  public var description: String { "\(address):\(port)" }
}

private func hexByte(_ byte: UInt8) -> String {
  func digit(_ value: UInt8) -> UInt8 { value < 10 ? 0x30 + value : 0x57 + value }
  return String(decoding: [digit(byte >> 4), digit(byte & 0xF)], as: UTF8.self)
}
