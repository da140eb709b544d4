/// Ethernet II framing: the 14-byte header in front of every frame (no VLAN tags, no
/// FCS: the NICs strip it).

public enum EtherType {
  public static var ipv4: UInt16 { 0x0800 }
  public static var arp: UInt16 { 0x0806 }
}

public struct EthernetHeader: Equatable {
  public var destination: MACAddress
  public var source: MACAddress
  public var etherType: UInt16

  public static var length: Int { 14 }
  /// The shortest frame Ethernet carries (without FCS): shorter ones are padded with
  /// zeros, which is why lengths are taken from the IP and UDP headers, not the frame.
  public static var minimumFrameLength: Int { 60 }
  /// The longest frame without a VLAN tag or FCS: 1500 bytes of payload.
  public static var maximumFrameLength: Int { 1514 }

  public init(destination: MACAddress, source: MACAddress, etherType: UInt16) {
    self.destination = destination
    self.source = source
    self.etherType = etherType
  }

  /// The header of a frame of `length` bytes; nil if it is shorter than a header.
  public init?(_ frame: Span<UInt8>, length: Int) {
    guard length >= Self.length, length <= frame.count else { return nil }
    destination = frame.macAddress(at: 0)
    source = frame.macAddress(at: 6)
    etherType = frame.uint16(at: 12)
  }

  public func write(into frame: inout MutableSpan<UInt8>) {
    frame.setMACAddress(destination, at: 0)
    frame.setMACAddress(source, at: 6)
    frame.setUInt16(etherType, at: 12)
  }
}

extension MutableSpan where Element == UInt8 {
  /// Pads a frame of `length` bytes with zeros to Ethernet's minimum, so that nothing
  /// an earlier frame left in the buffer goes out on the wire; returns the length to send.
  mutating func paddedFrameLength(_ length: Int) -> Int {
    guard length < EthernetHeader.minimumFrameLength else { return length }
    zero(from: length, count: EthernetHeader.minimumFrameLength - length)
    return EthernetHeader.minimumFrameLength
  }
}
