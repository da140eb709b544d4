/// UDP (RFC 768) headers: checked when a datagram arrives, written with a checksum when
/// one leaves.

public struct UDPHeader: Equatable {
  public var sourcePort: UInt16
  public var destinationPort: UInt16
  /// The datagram's length, header included.
  public var length: Int

  public static var headerLength: Int { 8 }

  public init(sourcePort: UInt16, destinationPort: UInt16, length: Int) {
    self.sourcePort = sourcePort
    self.destinationPort = destinationPort
    self.length = length
  }

  /// The checked header of the UDP datagram that is the payload of `ip`, or why it is
  /// dropped: shorter than a header, a length field that disagrees with the IP payload's
  /// length, or a checksum (when the sender set one) that does not add up.
  public static func parse(_ frame: Span<UInt8>, in ip: IPv4Header) -> Result<UDPHeader, DropReason>
  {
    let start = ip.payloadOffset
    guard ip.payloadLength >= headerLength else { return .failure(.badUDP) }
    let length = Int(frame.uint16(at: start + 4))
    guard length == ip.payloadLength else { return .failure(.badUDP) }
    if frame.uint16(at: start + 6) != 0 {
      var checksum = pseudoHeaderSum(source: ip.source, destination: ip.destination, length: length)
      checksum.add(frame, from: start, count: length)
      guard checksum.isValid else { return .failure(.badUDPChecksum) }
    }
    return .success(
      UDPHeader(
        sourcePort: frame.uint16(at: start), destinationPort: frame.uint16(at: start + 2),
        length: length))
  }

  /// Writes the header at `offset`, in front of its payload (already in the frame), with
  /// the checksum over the pseudo-header, the header and the payload.
  public func write(
    into frame: inout MutableSpan<UInt8>, at offset: Int, source: IPv4Address,
    destination: IPv4Address
  ) {
    frame.setUInt16(sourcePort, at: offset)
    frame.setUInt16(destinationPort, at: offset + 2)
    frame.setUInt16(UInt16(truncatingIfNeeded: length), at: offset + 4)
    frame.setUInt16(0, at: offset + 6)
    var checksum = Self.pseudoHeaderSum(source: source, destination: destination, length: length)
    checksum.add(frame.span, from: offset, count: length)
    // A computed zero goes out as all ones: zero in the field means "no checksum".
    let value = checksum.value
    frame.setUInt16(value == 0 ? 0xFFFF : value, at: offset + 6)
  }

  private static func pseudoHeaderSum(source: IPv4Address, destination: IPv4Address, length: Int)
    -> InternetChecksum
  {
    var checksum = InternetChecksum()
    checksum.add(source)
    checksum.add(destination)
    checksum.add(UInt16(IPProtocol.udp))
    checksum.add(UInt16(truncatingIfNeeded: length))
    return checksum
  }
}
