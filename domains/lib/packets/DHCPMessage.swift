/// DHCP (RFC 2131, options RFC 2132) messages of a client: the DISCOVER and REQUEST it
/// writes and the OFFER, ACK and NAK it reads, in the BOOTP format UDP carries between
/// ports 68 and 67.

public enum DHCPMessageType: UInt8, Equatable {
  case discover = 1
  case offer = 2
  case request = 3
  case decline = 4
  case ack = 5
  case nak = 6
  case release = 7
  case inform = 8
}

/// What a server's reply says, as far as a client configuring one interface cares.
public struct DHCPReply: Equatable {
  public var transactionID: UInt32
  public var clientMAC: MACAddress
  /// The address offered or acknowledged (`yiaddr`).
  public var yourAddress: IPv4Address
  public var messageType: DHCPMessageType
  public var serverIdentifier: IPv4Address?
  public var subnetMask: IPv4Address?
  public var router: IPv4Address?
  public var dnsServer: IPv4Address?
  public var leaseSeconds: UInt32?

  public init(
    transactionID: UInt32, clientMAC: MACAddress, yourAddress: IPv4Address,
    messageType: DHCPMessageType
  ) {
    self.transactionID = transactionID
    self.clientMAC = clientMAC
    self.yourAddress = yourAddress
    self.messageType = messageType
  }
}

public enum DHCPMessage {
  public static var serverPort: UInt16 { 67 }
  public static var clientPort: UInt16 { 68 }
  /// The fixed BOOTP fields, then the magic cookie: options start here.
  static var optionsOffset: Int { 240 }
  /// The length of what a client sends: the fixed fields and 312 bytes of options, the
  /// least RFC 2131 lets a client assume. slirp ignores anything shorter.
  public static var requestLength: Int { 548 }

  static var bootRequest: UInt8 { 1 }
  static var bootReply: UInt8 { 2 }
  static var magicCookie: UInt32 { 0x6382_5363 }
  static var broadcastFlag: UInt16 { 0x8000 }

  enum Option {
    static var pad: UInt8 { 0 }
    static var subnetMask: UInt8 { 1 }
    static var router: UInt8 { 3 }
    static var dnsServer: UInt8 { 6 }
    static var requestedAddress: UInt8 { 50 }
    static var leaseTime: UInt8 { 51 }
    static var messageType: UInt8 { 53 }
    static var serverIdentifier: UInt8 { 54 }
    static var parameterList: UInt8 { 55 }
    static var end: UInt8 { 255 }
  }

  /// The reply in the `length` bytes at `offset` of the frame (a UDP payload that fits
  /// it); nil unless it is a well-formed BOOTP reply for Ethernet with a DHCP message
  /// type. Options that run past the end make the whole message malformed.
  public static func parseReply(_ frame: Span<UInt8>, at offset: Int, length: Int) -> DHCPReply? {
    guard length >= optionsOffset, frame[offset] == bootReply, frame[offset + 1] == 1,
      frame[offset + 2] == 6, frame.uint32(at: offset + 236) == magicCookie
    else { return nil }
    var messageType: DHCPMessageType?
    var serverIdentifier: IPv4Address?
    var subnetMask: IPv4Address?
    var router: IPv4Address?
    var dnsServer: IPv4Address?
    var leaseSeconds: UInt32?
    var index = offset + optionsOffset
    let end = offset + length
    while index < end {
      let code = frame[index]
      if code == Option.end { break }
      if code == Option.pad {
        index += 1
        continue
      }
      guard index + 2 <= end else { return nil }
      let valueLength = Int(frame[index + 1])
      let value = index + 2
      guard value + valueLength <= end else { return nil }
      switch code {
      case Option.messageType where valueLength == 1:
        messageType = DHCPMessageType(rawValue: frame[value])
      case Option.serverIdentifier where valueLength == 4:
        serverIdentifier = frame.ipv4Address(at: value)
      case Option.subnetMask where valueLength == 4:
        subnetMask = frame.ipv4Address(at: value)
      // A list of routers or servers: the first is the preferred one.
      case Option.router where valueLength >= 4 && valueLength % 4 == 0:
        router = frame.ipv4Address(at: value)
      case Option.dnsServer where valueLength >= 4 && valueLength % 4 == 0:
        dnsServer = frame.ipv4Address(at: value)
      case Option.leaseTime where valueLength == 4:
        leaseSeconds = frame.uint32(at: value)
      default:
        break
      }
      index = value + valueLength
    }
    guard let messageType else { return nil }
    var reply = DHCPReply(
      transactionID: frame.uint32(at: offset + 4), clientMAC: frame.macAddress(at: offset + 28),
      yourAddress: frame.ipv4Address(at: offset + 16), messageType: messageType)
    reply.serverIdentifier = serverIdentifier
    reply.subnetMask = subnetMask
    reply.router = router
    reply.dnsServer = dnsServer
    reply.leaseSeconds = leaseSeconds
    return reply
  }

  /// Writes a client's DISCOVER or REQUEST at `offset` (the UDP payload); returns its
  /// length, `requestLength`. A REQUEST names the address and server it accepts;
  /// `secondsElapsed` is how long the client has been trying.
  public static func writeRequest(
    into frame: inout MutableSpan<UInt8>, at offset: Int, type: DHCPMessageType,
    transactionID: UInt32, clientMAC: MACAddress, secondsElapsed: UInt16,
    requestedAddress: IPv4Address? = nil, serverIdentifier: IPv4Address? = nil
  ) -> Int {
    frame.zero(from: offset, count: requestLength)
    frame[offset] = bootRequest
    frame[offset + 1] = 1
    frame[offset + 2] = 6
    frame.setUInt32(transactionID, at: offset + 4)
    frame.setUInt16(secondsElapsed, at: offset + 8)
    // Ask for broadcast replies: until it is configured, the client may not take
    // unicast to an address it does not have yet.
    frame.setUInt16(broadcastFlag, at: offset + 10)
    frame.setMACAddress(clientMAC, at: offset + 28)
    frame.setUInt32(magicCookie, at: offset + 236)
    var index = offset + optionsOffset
    frame[index] = Option.messageType
    frame[index + 1] = 1
    frame[index + 2] = type.rawValue
    index += 3
    if let requestedAddress {
      frame.writeAddressOption(Option.requestedAddress, requestedAddress, at: &index)
    }
    if let serverIdentifier {
      frame.writeAddressOption(Option.serverIdentifier, serverIdentifier, at: &index)
    }
    frame[index] = Option.parameterList
    frame[index + 1] = 4
    frame[index + 2] = Option.subnetMask
    frame[index + 3] = Option.router
    frame[index + 4] = Option.dnsServer
    frame[index + 5] = Option.leaseTime
    index += 6
    frame[index] = Option.end
    return requestLength
  }
}

extension MutableSpan where Element == UInt8 {
  fileprivate mutating func writeAddressOption(
    _ code: UInt8, _ address: IPv4Address, at index: inout Int
  ) {
    self[index] = code
    self[index + 1] = 4
    setIPv4Address(address, at: index + 2)
    index += 6
  }
}
