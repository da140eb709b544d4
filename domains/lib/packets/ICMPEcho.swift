/// ICMP (RFC 792) echo request and reply: the 8-byte header this stack reads and writes.
/// Other ICMP messages are dropped unread.

public struct ICMPEcho: Equatable {
  public var type: UInt8
  public var code: UInt8
  public var identifier: UInt16
  public var sequence: UInt16

  public static var echoReply: UInt8 { 0 }
  public static var echoRequest: UInt8 { 8 }
  public static var headerLength: Int { 8 }

  public init(type: UInt8, code: UInt8 = 0, identifier: UInt16, sequence: UInt16) {
    self.type = type
    self.code = code
    self.identifier = identifier
    self.sequence = sequence
  }

  /// The header of the ICMP message of `length` bytes at `offset` of the frame (an IPv4
  /// payload that fits it), or why it is dropped: shorter than a header, or a bad
  /// checksum over the whole message.
  public static func parse(_ frame: Span<UInt8>, at offset: Int, length: Int) -> Result<
    ICMPEcho, DropReason
  > {
    guard length >= headerLength else { return .failure(.badICMP) }
    var checksum = InternetChecksum()
    checksum.add(frame, from: offset, count: length)
    guard checksum.isValid else { return .failure(.badICMP) }
    return .success(
      ICMPEcho(
        type: frame[offset], code: frame[offset + 1], identifier: frame.uint16(at: offset + 4),
        sequence: frame.uint16(at: offset + 6)))
  }

  /// Writes the header at `offset`, followed by `payloadLength` bytes already in the
  /// frame, and the checksum over both.
  public func write(into frame: inout MutableSpan<UInt8>, at offset: Int, payloadLength: Int) {
    frame[offset] = type
    frame[offset + 1] = code
    frame.setUInt16(0, at: offset + 2)
    frame.setUInt16(identifier, at: offset + 4)
    frame.setUInt16(sequence, at: offset + 6)
    var checksum = InternetChecksum()
    checksum.add(frame.span, from: offset, count: Self.headerLength + payloadLength)
    frame.setUInt16(checksum.value, at: offset + 2)
  }
}
