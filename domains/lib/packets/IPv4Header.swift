/// IPv4 (RFC 791) headers: checked when a packet arrives, written when one leaves.
///
/// A received header must be version 4 with a length of at least 20 bytes inside the
/// frame, a good checksum and a total length inside the frame (the frame may be longer:
/// Ethernet pads short frames). Fragments are refused rather than reassembled: nothing
/// this stack serves needs datagrams over one frame, and a reassembly buffer is memory
/// a sender could make it hold.

public enum IPProtocol {
  public static var icmp: UInt8 { 1 }
  public static var udp: UInt8 { 17 }
}

public struct IPv4Header: Equatable {
  /// The header's length in bytes (its IHL times 4), options included.
  public var headerLength: Int
  /// The packet's length in bytes, header included.
  public var totalLength: Int
  public var identification: UInt16
  public var timeToLive: UInt8
  public var protocolNumber: UInt8
  public var source: IPv4Address
  public var destination: IPv4Address

  /// Where the header starts in a frame.
  public static var offset: Int { EthernetHeader.length }
  public static var minimumLength: Int { 20 }
  /// The flags word's "don't fragment" bit, set on everything this stack sends.
  static var dontFragment: UInt16 { 0x4000 }
  static var moreFragments: UInt16 { 0x2000 }
  static var fragmentOffsetMask: UInt16 { 0x1FFF }
  public static var defaultTimeToLive: UInt8 { 64 }

  /// A 20-byte header for a packet of `totalLength` bytes.
  public init(
    totalLength: Int, identification: UInt16, timeToLive: UInt8 = Self.defaultTimeToLive,
    protocolNumber: UInt8, source: IPv4Address, destination: IPv4Address
  ) {
    headerLength = Self.minimumLength
    self.totalLength = totalLength
    self.identification = identification
    self.timeToLive = timeToLive
    self.protocolNumber = protocolNumber
    self.source = source
    self.destination = destination
  }

  /// The checked header of the IPv4 packet in a frame of `length` bytes, or why the
  /// packet is dropped.
  public static func parse(_ frame: Span<UInt8>, length: Int) -> Result<IPv4Header, DropReason> {
    let start = offset
    guard length <= frame.count, length >= start + minimumLength else {
      return .failure(.badIPHeader)
    }
    let available = length - start
    let versionAndLength = frame[start]
    let headerLength = Int(versionAndLength & 0x0F) * 4
    guard versionAndLength >> 4 == 4, headerLength >= minimumLength, headerLength <= available
    else { return .failure(.badIPHeader) }
    var checksum = InternetChecksum()
    checksum.add(frame, from: start, count: headerLength)
    guard checksum.isValid else { return .failure(.badIPChecksum) }
    let totalLength = Int(frame.uint16(at: start + 2))
    guard totalLength >= headerLength, totalLength <= available else {
      return .failure(.badIPLength)
    }
    let flags = frame.uint16(at: start + 6)
    guard flags & (moreFragments | fragmentOffsetMask) == 0 else { return .failure(.fragment) }
    let timeToLive = frame[start + 8]
    guard timeToLive > 0 else { return .failure(.ttlExpired) }
    var header = IPv4Header(
      totalLength: totalLength, identification: frame.uint16(at: start + 4),
      timeToLive: timeToLive, protocolNumber: frame[start + 9],
      source: frame.ipv4Address(at: start + 12), destination: frame.ipv4Address(at: start + 16))
    header.headerLength = headerLength
    return .success(header)
  }

  /// The packet's payload: where it starts in the frame, and how long it is.
  public var payloadOffset: Int { Self.offset + headerLength }
  public var payloadLength: Int { totalLength - headerLength }

  /// Writes the header, without options and with "don't fragment", and its checksum.
  public func write(into frame: inout MutableSpan<UInt8>) {
    let start = Self.offset
    frame[start] = 0x45
    frame[start + 1] = 0
    frame.setUInt16(UInt16(truncatingIfNeeded: totalLength), at: start + 2)
    frame.setUInt16(identification, at: start + 4)
    frame.setUInt16(Self.dontFragment, at: start + 6)
    frame[start + 8] = timeToLive
    frame[start + 9] = protocolNumber
    frame.setUInt16(0, at: start + 10)
    frame.setIPv4Address(source, at: start + 12)
    frame.setIPv4Address(destination, at: start + 16)
    var checksum = InternetChecksum()
    checksum.add(frame.span, from: start, count: Self.minimumLength)
    frame.setUInt16(checksum.value, at: start + 10)
  }
}
