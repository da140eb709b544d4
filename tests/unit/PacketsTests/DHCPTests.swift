/// The DHCP client against replies shaped as QEMU's slirp sends them (libslirp's
/// bootp.c: broadcast from 10.0.2.2:67, options 53, 54, 1, 3, 6, 51, then end, 312
/// bytes of options), and against a server that never answers.
import Packets
import Testing

/// A slirp-like DHCP server's reply to the client's message `request` (a frame).
private func slirpReply(
  to request: [UInt8], type: UInt8, address: [UInt8] = Wire.ourAddress, lease: UInt32 = 86400,
  transactionID: UInt32? = nil, options extra: [UInt8] = [], length: Int = 236 + 312
) -> [UInt8] {
  let bootp = Array(request[42...])
  var reply = [UInt8](repeating: 0, count: 236 + 312)
  reply[0] = 2
  reply[1] = 1
  reply[2] = 6
  let xid = transactionID.map(Wire.bytes32) ?? Array(bootp[4..<8])
  for index in 0..<4 { reply[4 + index] = xid[index] }
  for index in 0..<4 {
    reply[16 + index] = address[index]
    reply[20 + index] = Wire.gatewayAddress[index]
  }
  for index in 0..<6 { reply[28 + index] = bootp[28 + index] }
  var options: [UInt8] = [99, 130, 83, 99, 53, 1, type, 54, 4] + Wire.gatewayAddress
  options += [1, 4, 255, 255, 255, 0, 3, 4] + Wire.gatewayAddress + [6, 4] + Wire.dnsAddress
  options += [51, 4] + Wire.bytes32(lease) + extra + [255]
  for (index, byte) in options.enumerated() { reply[236 + index] = byte }
  return Wire.ethernet(
    to: Wire.broadcastMAC, type: 0x0800,
    Wire.ipv4(
      to: [255, 255, 255, 255], protocolNumber: 17,
      Wire.udp(
        to: [255, 255, 255, 255], sourcePort: 67, destinationPort: 68,
        Array(reply[0..<length]))))
}

/// The DHCP options of a client's message (a frame), by code.
private func options(of frame: [UInt8]) -> [UInt8: [UInt8]] {
  var found: [UInt8: [UInt8]] = [:]
  var index = 42 + 240
  while index < frame.count, frame[index] != 255 {
    if frame[index] == 0 {
      index += 1
      continue
    }
    let length = Int(frame[index + 1])
    found[frame[index]] = Array(frame[(index + 2)..<(index + 2 + length)])
    index += 2 + length
  }
  return found
}

struct DHCPTests {
  @Test func sendsADiscoverSlirpAccepts() {
    let bed = StackBed(mode: .dhcp)
    let frames = bed.pollAll()
    #expect(frames.count == 1)
    let discover = frames[0]
    #expect(discover.count == 14 + 20 + 8 + 548, "slirp ignores BOOTP messages under 548 bytes")
    #expect(Array(discover[0..<6]) == Wire.broadcastMAC)
    #expect(Array(discover[6..<12]) == Wire.ourMAC)
    let ip = Array(discover[14..<34])
    #expect(Wire.checksum(ip) == 0)
    #expect(Array(ip[12..<16]) == [0, 0, 0, 0] && Array(ip[16..<20]) == [255, 255, 255, 255])
    let udp = Array(discover[34...])
    #expect(Wire.word(udp, 0) == 68 && Wire.word(udp, 2) == 67 && Wire.word(udp, 4) == 556)
    #expect(Wire.checksum([0, 0, 0, 0, 255, 255, 255, 255, 0, 17] + Wire.bytes16(556) + udp) == 0)
    let bootp = Array(discover[42...])
    #expect(bootp[0] == 1 && bootp[1] == 1 && bootp[2] == 6)
    #expect(Array(bootp[28..<34]) == Wire.ourMAC)
    #expect(Array(bootp[236..<240]) == [99, 130, 83, 99])
    let found = options(of: discover)
    #expect(found[53] == [1])
    #expect(found[55].map(Set.init) == Set([1, 3, 6, 51]))
  }

  @Test func configuresFromSlirpsOfferAndAck() {
    let bed = StackBed(mode: .dhcp)
    let discover = bed.pollAll()[0]
    bed.advance(seconds: 0.01)
    #expect(bed.input(slirpReply(to: discover, type: 2)) == .consumed)
    #expect(bed.stack.configuration == nil)
    let requests = bed.pollAll()
    #expect(requests.count == 1)
    let request = requests[0]
    #expect(Array(request[46..<50]) == Array(discover[46..<50]), "the same transaction")
    let found = options(of: request)
    #expect(found[53] == [3])
    #expect(found[50] == Wire.ourAddress)
    #expect(found[54] == Wire.gatewayAddress)
    #expect(bed.input(slirpReply(to: request, type: 5)) == .consumed)
    let expected = InterfaceAddress(
      address: IPv4Address(10, 0, 2, 15), prefixLength: 24, gateway: IPv4Address(10, 0, 2, 2))
    #expect(bed.stack.configuration == expected)
    #expect(bed.stack.takeEvent() == .configured(expected))
    #expect(bed.stack.takeEvent() == nil)
    #expect(bed.pollAll().isEmpty, "nothing more to ask")
    // Now it is an interface like any other: it answers pings.
    let ping = Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(protocolNumber: 1, Wire.icmpEcho(type: 8, identifier: 1, sequence: 1, data: [])))
    guard case .reply = bed.input(ping) else {
      Issue.record("no answer after DHCP")
      return
    }
  }

  @Test func retransmitsAndSaysSoWhenNobodyAnswers() {
    let bed = StackBed(mode: .dhcp)
    var sentAt: [Double] = []
    var silentAt: Double?
    for tenth in 0...130 {
      if !bed.pollAll().isEmpty { sentAt.append(Double(tenth) / 10) }
      if silentAt == nil, bed.stack.takeEvent() == .dhcpSilent { silentAt = Double(tenth) / 10 }
      bed.advance(seconds: 0.1)
    }
    #expect(sentAt == [0, 1, 3, 7, 11])
    #expect(silentAt == 7, "said once the fourth DISCOVER went out")
    #expect(bed.stack.takeEvent() == nil, "and only once")
    #expect(bed.stack.configuration == nil)
  }

  @Test func startsOverWhenRequestsGoUnanswered() {
    let bed = StackBed(mode: .dhcp)
    let discover = bed.pollAll()[0]
    _ = bed.input(slirpReply(to: discover, type: 2))
    var requests: [[UInt8]] = []
    for _ in 0..<70 {
      requests += bed.pollAll()
      bed.advance(seconds: 0.1)
    }
    let types = requests.map { options(of: $0)[53] ?? [] }
    #expect(types.prefix(4) == [[3], [3], [3], [1]])
    #expect(
      Array(requests[3][46..<50]) != Array(discover[46..<50]), "a new transaction after the restart"
    )
  }

  @Test func ignoresRepliesForOthersAndMalformedOnes() {
    let bed = StackBed(mode: .dhcp)
    let discover = bed.pollAll()[0]
    #expect(
      bed.input(slirpReply(to: discover, type: 2, transactionID: 0xDEAD_BEEF)) == .drop(.notForUs))
    #expect(
      bed.input(slirpReply(to: discover, type: 5)) == .drop(.notForUs), "an ACK before any offer")
    var cut = slirpReply(to: discover, type: 2)
    cut[42 + 236] = 0  // no magic cookie
    #expect(bed.input(fixChecksum(cut)) == .drop(.badDHCP))
    // An option whose length runs past the message (a host name of 200 bytes in 20).
    let overrun = slirpReply(to: discover, type: 2, options: [12, 200], length: 236 + 60)
    #expect(bed.input(overrun) == .drop(.badDHCP))
    // A message cut short of its fixed fields.
    #expect(bed.input(slirpReply(to: discover, type: 2, length: 200)) == .drop(.badDHCP))
    #expect(bed.stack.configuration == nil)
    #expect(bed.input(slirpReply(to: discover, type: 2)) == .consumed, "the good offer still works")
  }

  @Test func aNakStartsOverAndALapsedLeaseIsLost() {
    let bed = StackBed(mode: .dhcp)
    var discover = bed.pollAll()[0]
    _ = bed.input(slirpReply(to: discover, type: 2))
    var request = bed.pollAll()[0]
    #expect(bed.input(slirpReply(to: request, type: 6)) == .consumed)
    #expect(bed.stack.configuration == nil)
    discover = bed.pollAll()[0]
    #expect(options(of: discover)[53] == [1])
    _ = bed.input(slirpReply(to: discover, type: 2))
    request = bed.pollAll()[0]
    _ = bed.input(slirpReply(to: request, type: 5, lease: 100))
    #expect(bed.stack.configuration != nil)
    _ = bed.stack.takeEvent()
    bed.advance(seconds: 50)
    let renewal = bed.pollAll()
    #expect(renewal.count == 1 && options(of: renewal[0])[53] == [3], "renews at half the lease")
    #expect(Array(renewal[0][26..<30]) == Wire.ourAddress, "from its address")
    bed.advance(seconds: 51)
    _ = bed.pollAll()
    #expect(bed.stack.configuration == nil, "the lease ran out unanswered")
    #expect(bed.stack.takeEvent() == .addressLost)
  }

  @Test func aRenewalAnsweredKeepsTheAddress() {
    let bed = StackBed(mode: .dhcp)
    let discover = bed.pollAll()[0]
    _ = bed.input(slirpReply(to: discover, type: 2))
    _ = bed.input(slirpReply(to: bed.pollAll()[0], type: 5, lease: 100))
    _ = bed.stack.takeEvent()
    bed.advance(seconds: 50)
    let renewal = bed.pollAll()[0]
    #expect(bed.input(slirpReply(to: renewal, type: 5, lease: 100)) == .consumed)
    bed.advance(seconds: 60)
    _ = bed.pollAll()
    #expect(bed.stack.configuration != nil)
    #expect(bed.stack.takeEvent() == nil, "the same address: nothing to say")
  }
}

/// Recomputes the UDP checksum of a frame built by `slirpReply` after a byte changed.
private func fixChecksum(_ frame: [UInt8]) -> [UInt8] {
  var fixed = frame
  fixed[40] = 0
  fixed[41] = 0
  let udp = Array(fixed[34...])
  let sum = Wire.checksum(
    Wire.gatewayAddress + [255, 255, 255, 255, 0, 17] + Wire.bytes16(UInt16(udp.count)) + udp)
  fixed[40] = UInt8(sum >> 8)
  fixed[41] = UInt8(sum & 0xFF)
  return fixed
}

struct AddressingTests {
  @Test func readsTheIPBootOption() {
    let fixed = InterfaceAddress(
      address: IPv4Address(10, 0, 2, 15), prefixLength: 24, gateway: IPv4Address(10, 0, 2, 2))
    #expect(AddressingMode.parse(bootOption: nil) == .success(.dhcp))
    #expect(AddressingMode.parse(bootOption: "dhcp") == .success(.dhcp))
    #expect(AddressingMode.parse(bootOption: "10.0.2.15/24,gw=10.0.2.2") == .success(.fixed(fixed)))
    var noGateway = fixed
    noGateway.gateway = nil
    #expect(AddressingMode.parse(bootOption: "10.0.2.15/24") == .success(.fixed(noGateway)))
    for malformed in [
      "", "10.0.2.15", "10.0.2/24", "10.0.2.15/33", "10.0.2.15/0", "10.0.2.15/24,gw=",
      "10.0.2.15/24,via=10.0.2.2", "10.0.2.256/24", "10.0.2.15/24,gw=10.0.2.2,x", "DHCP",
    ] {
      #expect(AddressingMode.parse(bootOption: malformed) == .failure(.malformed), "\(malformed)")
    }
    #expect(
      AddressingMode.parse(bootOption: "10.0.2.15/24,gw=10.0.3.2") == .failure(.gatewayNotLocal))
    #expect(AddressingMode.parse(bootOption: "10.0.2.255/24") == .failure(.badAddress))
    #expect(AddressingMode.parse(bootOption: "0.0.0.0/8") == .failure(.badAddress))
  }

  @Test func masksAndPrefixes() {
    let address = InterfaceAddress(
      address: IPv4Address(10, 0, 2, 15), prefixLength: 24, gateway: nil)
    #expect(address.mask == IPv4Address(255, 255, 255, 0))
    #expect(address.broadcast == IPv4Address(10, 0, 2, 255))
    #expect(
      address.isLocal(IPv4Address(10, 0, 2, 200)) && !address.isLocal(IPv4Address(10, 0, 3, 1)))
    #expect(InterfaceAddress.prefixLength(ofMask: IPv4Address(255, 255, 255, 0)) == 24)
    #expect(InterfaceAddress.prefixLength(ofMask: IPv4Address(255, 255, 255, 255)) == 32)
    #expect(InterfaceAddress.prefixLength(ofMask: IPv4Address(255, 0, 255, 0)) == nil)
    #expect(InterfaceAddress.prefixLength(ofMask: .any) == nil)
    #expect(
      InterfaceAddress(address: .any, prefixLength: 32, gateway: nil).mask == .broadcast)
  }
}
