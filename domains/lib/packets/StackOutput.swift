/// The stack's output path: frames built in place into buffers the owner provides, a
/// UDP datagram around a payload already in the buffer, an echo request, a DHCP message.
/// Each gets its next hop's MAC address from the ARP cache first; when it is not there
/// yet, the owner keeps the buffer and asks again (`Transmission.resolving`).

extension NetworkStack {
  /// Wraps the `payloadLength` bytes at `udpPayloadOffset` of `frame` in UDP, IPv4 and
  /// Ethernet headers, from local port `localPort` to `remote`.
  public func writeDatagram(
    _ frame: inout MutableSpan<UInt8>, from localPort: UInt16, to remote: IPv4Endpoint,
    payloadLength: Int, now: UInt64
  ) -> Transmission {
    guard payloadLength >= 0, payloadLength <= Self.udpPayloadCapacity,
      frame.count >= Self.udpPayloadOffset + payloadLength
    else { return .failed(.tooLong) }
    guard let configuration else { return .failed(.noNetwork) }
    guard remote.port != 0 else { return .failed(.unreachable) }
    let destinationMAC: MACAddress
    switch resolveNextHop(remote.address, configuration, now: now) {
    case .found(let mac): destinationMAC = mac
    case .notYet(let waiting): return waiting
    }
    let udpOffset = Self.udpPayloadOffset - UDPHeader.headerLength
    let udpLength = UDPHeader.headerLength + payloadLength
    UDPHeader(sourcePort: localPort, destinationPort: remote.port, length: udpLength).write(
      into: &frame, at: udpOffset, source: configuration.address, destination: remote.address)
    IPv4Header(
      totalLength: IPv4Header.minimumLength + udpLength, identification: takeIdentification(),
      protocolNumber: IPProtocol.udp, source: configuration.address, destination: remote.address
    ).write(into: &frame)
    EthernetHeader(destination: destinationMAC, source: mac, etherType: EtherType.ipv4).write(
      into: &frame)
    return .send(length: frame.paddedFrameLength(Self.udpPayloadOffset + payloadLength))
  }

  /// How many data bytes an echo request of this stack carries.
  public static var pingDataLength: Int { 32 }

  /// Builds the echo request of the ping `ticket` (`beginPing`) into `frame`, and
  /// counts it as sent now.
  public func writePing(_ ticket: PingTicket, into frame: inout MutableSpan<UInt8>, now: UInt64)
    -> Transmission
  {
    guard let ping = pings.ping(ticket), let configuration else { return .failed(.noNetwork) }
    let destinationMAC: MACAddress
    switch resolveNextHop(ping.address, configuration, now: now) {
    case .found(let mac): destinationMAC = mac
    case .notYet(let waiting): return waiting
    }
    let messageOffset = EthernetHeader.length + IPv4Header.minimumLength
    let dataOffset = messageOffset + ICMPEcho.headerLength
    for index in 0..<Self.pingDataLength {
      frame[dataOffset + index] = UInt8(truncatingIfNeeded: index)
    }
    ICMPEcho(type: ICMPEcho.echoRequest, identifier: ticket.identifier, sequence: ping.sequence)
      .write(into: &frame, at: messageOffset, payloadLength: Self.pingDataLength)
    IPv4Header(
      totalLength: IPv4Header.minimumLength + ICMPEcho.headerLength + Self.pingDataLength,
      identification: takeIdentification(), protocolNumber: IPProtocol.icmp,
      source: configuration.address, destination: ping.address
    ).write(into: &frame)
    EthernetHeader(destination: destinationMAC, source: mac, etherType: EtherType.ipv4).write(
      into: &frame)
    pings.markSent(ticket, now: now)
    return .send(length: frame.paddedFrameLength(dataOffset + Self.pingDataLength))
  }

  /// A DHCP message from port 68 to the servers' port 67, broadcast: before it has an
  /// address the client can name no server, and renewing it asks whoever answers.
  func writeDHCP(_ message: DHCPClient.Message, into frame: inout MutableSpan<UInt8>) -> Int {
    let length = DHCPMessage.writeRequest(
      into: &frame, at: Self.udpPayloadOffset, type: message.type,
      transactionID: message.transactionID, clientMAC: mac,
      secondsElapsed: message.secondsElapsed, requestedAddress: message.requestedAddress,
      serverIdentifier: message.serverIdentifier)
    let source = configuration?.address ?? .any
    let udpLength = UDPHeader.headerLength + length
    UDPHeader(
      sourcePort: DHCPMessage.clientPort, destinationPort: DHCPMessage.serverPort,
      length: udpLength
    ).write(
      into: &frame, at: Self.udpPayloadOffset - UDPHeader.headerLength, source: source,
      destination: .broadcast)
    IPv4Header(
      totalLength: IPv4Header.minimumLength + udpLength, identification: takeIdentification(),
      protocolNumber: IPProtocol.udp, source: source, destination: .broadcast
    ).write(into: &frame)
    EthernetHeader(destination: .broadcast, source: mac, etherType: EtherType.ipv4).write(
      into: &frame)
    return Self.udpPayloadOffset + length
  }

  /// The MAC address a packet to `address` goes to: the broadcast address, the
  /// address's own on this network, or the gateway's; or why it cannot go yet.
  private func resolveNextHop(
    _ address: IPv4Address, _ configuration: InterfaceAddress, now: UInt64
  ) -> NextHop {
    if address == .broadcast || address == configuration.broadcast {
      return .found(.broadcast)
    }
    // No loopback, no multicast, nothing from 240.0.0.0 up, and not ourselves.
    guard address != .any, address.byte(0) != 127, address.byte(0) < 224,
      address != configuration.address
    else { return .notYet(.failed(.unreachable)) }
    let hop: IPv4Address
    if configuration.isLocal(address) {
      hop = address
    } else if let gateway = configuration.gateway {
      hop = gateway
    } else {
      return .notYet(.failed(.unreachable))
    }
    switch arp.resolve(hop, now: now) {
    case .resolved(let mac): return .found(mac)
    case .pending: return .notYet(.resolving)
    case .failed: return .notYet(.failed(.unreachable))
    }
  }
}

private enum NextHop {
  case found(MACAddress)
  /// Not sendable now: what to tell the owner.
  case notYet(Transmission)
}
