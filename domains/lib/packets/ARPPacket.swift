/// ARP (RFC 826) for IPv4 over Ethernet: the 28-byte request or reply after the
/// Ethernet header. Any other hardware or protocol type, or other address lengths, is
/// refused: this stack resolves nothing else.

public struct ARPPacket: Equatable {
  public enum Operation: UInt16, Equatable {
    case request = 1
    case reply = 2
  }

  public var operation: Operation
  public var senderMAC: MACAddress
  public var senderAddress: IPv4Address
  public var targetMAC: MACAddress
  public var targetAddress: IPv4Address

  /// Bytes after the Ethernet header.
  public static var length: Int { 28 }
  static var ethernetHardware: UInt16 { 1 }

  public init(
    operation: Operation, senderMAC: MACAddress, senderAddress: IPv4Address,
    targetMAC: MACAddress, targetAddress: IPv4Address
  ) {
    self.operation = operation
    self.senderMAC = senderMAC
    self.senderAddress = senderAddress
    self.targetMAC = targetMAC
    self.targetAddress = targetAddress
  }

  /// The ARP packet in a frame of `length` bytes (Ethernet header included); nil unless
  /// it is a whole Ethernet/IPv4 request or reply.
  public init?(_ frame: Span<UInt8>, length: Int) {
    let start = EthernetHeader.length
    guard length <= frame.count, length >= start + Self.length,
      frame.uint16(at: start) == Self.ethernetHardware,
      frame.uint16(at: start + 2) == EtherType.ipv4,
      frame[start + 4] == 6, frame[start + 5] == 4,
      let operation = Operation(rawValue: frame.uint16(at: start + 6))
    else { return nil }
    self.operation = operation
    senderMAC = frame.macAddress(at: start + 8)
    senderAddress = frame.ipv4Address(at: start + 14)
    targetMAC = frame.macAddress(at: start + 18)
    targetAddress = frame.ipv4Address(at: start + 24)
  }

  /// Writes the packet after an Ethernet header; returns the frame's length, padded.
  public func write(into frame: inout MutableSpan<UInt8>) -> Int {
    let start = EthernetHeader.length
    frame.setUInt16(Self.ethernetHardware, at: start)
    frame.setUInt16(EtherType.ipv4, at: start + 2)
    frame[start + 4] = 6
    frame[start + 5] = 4
    frame.setUInt16(operation.rawValue, at: start + 6)
    frame.setMACAddress(senderMAC, at: start + 8)
    frame.setIPv4Address(senderAddress, at: start + 14)
    frame.setMACAddress(targetMAC, at: start + 18)
    frame.setIPv4Address(targetAddress, at: start + 24)
    return frame.paddedFrameLength(start + Self.length)
  }
}
