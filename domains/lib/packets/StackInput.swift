/// The stack's input path: one received Ethernet frame, checked layer by layer, ends as
/// a drop (counted by reason), a reply written over it, a datagram for a socket, or
/// state the stack keeps (an ARP entry, a DHCP lease, a ping's answer).

extension NetworkStack {
  /// Takes the frame of `length` bytes at the start of `frame` (the whole buffer, which
  /// a reply may be written into); says what to do with it.
  public func input(_ frame: inout MutableSpan<UInt8>, length: Int, now: UInt64) -> InputAction {
    countReceived(length: length)
    let action = classify(&frame, length: length, now: now)
    if case .drop(let reason) = action { countDrop(reason) }
    return action
  }

  private func classify(_ frame: inout MutableSpan<UInt8>, length: Int, now: UInt64)
    -> InputAction
  {
    guard length >= EthernetHeader.length else { return .drop(.runt) }
    guard length <= EthernetHeader.maximumFrameLength, length <= frame.count else {
      return .drop(.oversize)
    }
    guard let ethernet = EthernetHeader(frame.span, length: length) else { return .drop(.runt) }
    guard mac != .zero else { return .drop(.notForUs) }
    // A group address cannot send; a frame to another station's address is not ours
    // (a NIC in promiscuous mode, as virtio-net's is, passes those up too).
    guard !ethernet.source.isGroup, ethernet.destination == mac || ethernet.destination.isGroup
    else { return .drop(.notForUs) }
    switch ethernet.etherType {
    case EtherType.arp: return arpInput(&frame, length: length, now: now)
    case EtherType.ipv4: return ipv4Input(&frame, length: length, ethernet: ethernet, now: now)
    default: return .drop(.unknownEtherType)
    }
  }

  // MARK: - ARP

  private func arpInput(_ frame: inout MutableSpan<UInt8>, length: Int, now: UInt64)
    -> InputAction
  {
    guard let packet = ARPPacket(frame.span, length: length) else { return .drop(.badARP) }
    guard !packet.senderMAC.isGroup, packet.senderAddress != .broadcast else {
      return .drop(.badARP)
    }
    guard let configuration else { return .drop(.notForUs) }
    // Someone claiming our own address: never cache it, never answer it.
    guard packet.senderAddress != configuration.address else { return .drop(.badARP) }
    // RFC 826: refresh what we know of the sender whoever it asks, but only add a new
    // entry when it talks to us (a flood of other hosts' ARP must not fill the cache).
    let hasSender = packet.senderAddress != .any
    let refreshed = hasSender && arp.refresh(packet.senderAddress, packet.senderMAC, now: now)
    guard packet.targetAddress == configuration.address else {
      return refreshed ? .consumed : .drop(.notForUs)
    }
    if hasSender && !refreshed { arp.insert(packet.senderAddress, packet.senderMAC, now: now) }
    guard packet.operation == .request else { return .consumed }
    EthernetHeader(destination: packet.senderMAC, source: mac, etherType: EtherType.arp).write(
      into: &frame)
    let replyLength = ARPPacket(
      operation: .reply, senderMAC: mac, senderAddress: configuration.address,
      targetMAC: packet.senderMAC, targetAddress: packet.senderAddress
    ).write(into: &frame)
    return .reply(length: replyLength)
  }

  // MARK: - IPv4

  private func ipv4Input(
    _ frame: inout MutableSpan<UInt8>, length: Int, ethernet: EthernetHeader, now: UInt64
  ) -> InputAction {
    let ip: IPv4Header
    switch IPv4Header.parse(frame.span, length: length) {
    case .success(let header): ip = header
    case .failure(let reason): return .drop(reason)
    }
    // A source that cannot be a host: nothing may be sent back to it.
    guard ip.source != .broadcast, ip.source.byte(0) < 224 else { return .drop(.badIPHeader) }
    switch ip.protocolNumber {
    case IPProtocol.icmp:
      guard let configuration, ip.destination == configuration.address else {
        return .drop(.notForUs)
      }
      return icmpInput(&frame, ip: ip, ethernet: ethernet, address: configuration.address, now: now)
    case IPProtocol.udp:
      return udpInput(&frame, ip: ip, now: now)
    default:
      return isForUs(ip.destination) ? .drop(.unknownProtocol) : .drop(.notForUs)
    }
  }

  /// Whether a packet to `destination` is ours: our address or a broadcast, once there
  /// is an address.
  private func isForUs(_ destination: IPv4Address) -> Bool {
    guard let configuration else { return false }
    return destination == configuration.address || destination == .broadcast
      || destination == configuration.broadcast
  }

  // MARK: - ICMP

  private func icmpInput(
    _ frame: inout MutableSpan<UInt8>, ip: IPv4Header, ethernet: EthernetHeader,
    address: IPv4Address, now: UInt64
  ) -> InputAction {
    let echo: ICMPEcho
    switch ICMPEcho.parse(frame.span, at: ip.payloadOffset, length: ip.payloadLength) {
    case .success(let header): echo = header
    case .failure(let reason): return .drop(reason)
    }
    switch echo.type {
    case ICMPEcho.echoRequest where echo.code == 0:
      return echoReply(&frame, ip: ip, echo: echo, to: ethernet.source, from: address)
    case ICMPEcho.echoReply:
      let matched = pings.match(
        from: ip.source, identifier: echo.identifier, sequence: echo.sequence, now: now)
      return matched ? .consumed : .drop(.notForUs)
    default:
      return .drop(.unknownProtocol)
    }
  }

  /// Rewrites an echo request into its reply, in place: the same data, back to the
  /// station it came from, without the request's IP options.
  private func echoReply(
    _ frame: inout MutableSpan<UInt8>, ip: IPv4Header, echo: ICMPEcho, to station: MACAddress,
    from address: IPv4Address
  ) -> InputAction {
    let messageOffset = IPv4Header.offset + IPv4Header.minimumLength
    let messageLength = ip.payloadLength
    if ip.payloadOffset != messageOffset {
      frame.moveDown(from: ip.payloadOffset, to: messageOffset, count: messageLength)
    }
    EthernetHeader(destination: station, source: mac, etherType: EtherType.ipv4).write(
      into: &frame)
    IPv4Header(
      totalLength: IPv4Header.minimumLength + messageLength, identification: takeIdentification(),
      protocolNumber: IPProtocol.icmp, source: address, destination: ip.source
    ).write(into: &frame)
    // Summed again rather than adjusted for the changed type (RFC 1624): adjusting gives
    // 0x0000 for a message that sums to zero, which receivers refuse (found by the fuzzer).
    ICMPEcho(
      type: ICMPEcho.echoReply, code: echo.code, identifier: echo.identifier,
      sequence: echo.sequence
    ).write(
      into: &frame, at: messageOffset, payloadLength: messageLength - ICMPEcho.headerLength)
    return .reply(length: frame.paddedFrameLength(messageOffset + messageLength))
  }

  // MARK: - UDP

  private func udpInput(_ frame: inout MutableSpan<UInt8>, ip: IPv4Header, now: UInt64)
    -> InputAction
  {
    // Before there is an address, only DHCP's replies come in (to whatever address the
    // server chose: the one it offers, or broadcast).
    let awaitingDHCP = configuration == nil && dhcp != nil
    guard awaitingDHCP || isForUs(ip.destination) else { return .drop(.notForUs) }
    let udp: UDPHeader
    switch UDPHeader.parse(frame.span, in: ip) {
    case .success(let header): udp = header
    case .failure(let reason): return .drop(reason)
    }
    let payloadOffset = ip.payloadOffset + UDPHeader.headerLength
    let payloadLength = udp.length - UDPHeader.headerLength
    if udp.destinationPort == DHCPMessage.clientPort, udp.sourcePort == DHCPMessage.serverPort,
      dhcp != nil
    {
      return dhcpInput(frame.span, at: payloadOffset, length: payloadLength, now: now)
    }
    guard !awaitingDHCP else { return .drop(.notForUs) }
    guard udp.sourcePort != 0 else { return .drop(.badUDP) }
    guard let socket = sockets.socket(for: udp.destinationPort) else { return .drop(.noSocket) }
    if payloadOffset != Self.udpPayloadOffset {
      frame.moveDown(from: payloadOffset, to: Self.udpPayloadOffset, count: payloadLength)
    }
    return .deliver(
      Delivery(
        socket: socket, remote: IPv4Endpoint(address: ip.source, port: udp.sourcePort),
        localPort: udp.destinationPort, payloadLength: payloadLength))
  }

  private func dhcpInput(_ frame: Span<UInt8>, at offset: Int, length: Int, now: UInt64)
    -> InputAction
  {
    guard let reply = DHCPMessage.parseReply(frame, at: offset, length: length) else {
      return .drop(.badDHCP)
    }
    switch dhcp?.receive(reply, now: now) {
    case .bound(let newConfiguration):
      configure(newConfiguration)
      return .consumed
    case .refused:
      loseConfiguration()
      return .consumed
    case .offerTaken:
      return .consumed
    case nil:
      return .drop(.notForUs)
    }
  }
}
