/// Each header's parser and writer, both ways, against frames built by hand.
import Packets
import Testing

private func span<R>(_ bytes: [UInt8], _ body: (Span<UInt8>) -> R) -> R { body(bytes.span) }

struct EthernetTests {
  @Test func parsesAndWritesTheHeader() {
    let frame = Wire.ethernet(type: 0x0806, [1, 2, 3])
    let header = span(frame) { EthernetHeader($0, length: frame.count) }
    #expect(
      header
        == EthernetHeader(
          destination: StackBed.mac, source: StackBed.gatewayMAC, etherType: EtherType.arp))
    var buffer = [UInt8](repeating: 0, count: 14)
    var out = buffer.mutableSpan
    header?.write(into: &out)
    #expect(buffer == Array(frame[0..<14]))
  }

  @Test func refusesLessThanAHeader() {
    let frame = [UInt8](repeating: 0xFF, count: 13)
    #expect(span(frame) { EthernetHeader($0, length: 13) } == nil)
    #expect(span(frame) { EthernetHeader($0, length: 14) } == nil)  // past the bytes given
  }
}

struct ARPPacketTests {
  @Test func parsesARequestAndWritesItBack() {
    let frame = Wire.ethernet(
      to: Wire.broadcastMAC, type: 0x0806, Wire.arp(operation: 1, targetAddress: Wire.ourAddress))
    guard let packet = span(frame, { ARPPacket($0, length: frame.count) }) else {
      Issue.record("a well-formed request was refused")
      return
    }
    #expect(packet.operation == .request)
    #expect(packet.senderMAC == StackBed.gatewayMAC)
    #expect(packet.senderAddress == IPv4Address(10, 0, 2, 2))
    #expect(packet.targetAddress == IPv4Address(10, 0, 2, 15))
    var buffer = [UInt8](repeating: 0xAA, count: 64)
    var out = buffer.mutableSpan
    let length = packet.write(into: &out)
    #expect(length == 60)
    #expect(Array(buffer[14..<42]) == Array(frame[14..<42]))
    #expect(buffer[42..<60].allSatisfy { $0 == 0 }, "padding must not leak old bytes")
  }

  @Test func refusesOddLengthsTypesAndOperations() {
    let cases: [[UInt8]] = [
      Wire.arp(operation: 1, hardwareLength: 8),
      Wire.arp(operation: 1, protocolLength: 16),
      Wire.arp(operation: 3),
      Wire.arp(operation: 0),
      Array(Wire.arp(operation: 1)[0..<27]),
      [0, 6] + Array(Wire.arp(operation: 1)[2...]),  // hardware type 6 (IEEE 802)
      [0, 1, 0x86, 0xDD] + Array(Wire.arp(operation: 1)[4...]),  // protocol IPv6
    ]
    for arp in cases {
      let frame = Wire.ethernet(type: 0x0806, arp)
      #expect(span(frame) { ARPPacket($0, length: frame.count) } == nil)
    }
  }
}

struct IPv4HeaderTests {
  private func parse(_ frame: [UInt8], length: Int? = nil) -> Result<IPv4Header, DropReason> {
    span(frame) { IPv4Header.parse($0, length: length ?? frame.count) }
  }

  @Test func parsesAWellFormedHeader() throws {
    let frame = Wire.ethernet(type: 0x0800, Wire.ipv4(protocolNumber: 17, [1, 2, 3, 4]))
    let header = try parse(frame).get()
    #expect(header.headerLength == 20)
    #expect(header.totalLength == 24)
    #expect(header.protocolNumber == IPProtocol.udp)
    #expect(header.source == IPv4Address(10, 0, 2, 2))
    #expect(header.destination == IPv4Address(10, 0, 2, 15))
    #expect(header.timeToLive == 64)
    #expect(header.payloadOffset == 34)
    #expect(header.payloadLength == 4)
  }

  @Test func writesAHeaderThePlainChecksumAccepts() throws {
    let header = IPv4Header(
      totalLength: 84, identification: 7, protocolNumber: IPProtocol.icmp,
      source: IPv4Address(10, 0, 2, 15), destination: IPv4Address(10, 0, 2, 2))
    var buffer = [UInt8](repeating: 0, count: 98)
    var out = buffer.mutableSpan
    header.write(into: &out)
    let ip = Array(buffer[14..<34])
    #expect(Wire.checksum(ip) == 0)
    #expect(ip[0] == 0x45)
    #expect(Wire.word(ip, 2) == 84)
    #expect(Wire.word(ip, 6) == 0x4000, "don't fragment")
    #expect(parse(buffer) == .success(header))
  }

  @Test func takesTheLengthFromTheHeaderNotThePaddedFrame() throws {
    let frame = Wire.padded(Wire.ethernet(type: 0x0800, Wire.ipv4(protocolNumber: 17, [9])))
    #expect(frame.count == 60)
    #expect(try parse(frame).get().totalLength == 21)
  }

  @Test func acceptsOptionsAndSkipsThem() throws {
    let frame = Wire.ethernet(
      type: 0x0800, Wire.ipv4(protocolNumber: 17, options: [1, 1, 1, 0], [5, 6]))
    let header = try parse(frame).get()
    #expect(header.headerLength == 24)
    #expect(header.payloadOffset == 38)
    #expect(header.payloadLength == 2)
  }

  @Test func refusesEachMalformedHeaderWithItsReason() {
    let payload = [UInt8](repeating: 7, count: 8)
    let cases: [([UInt8], DropReason)] = [
      (Wire.ipv4(protocolNumber: 17, version: 6, payload), .badIPHeader),
      (Wire.ipv4(protocolNumber: 17, headerWords: 4, payload), .badIPHeader),
      (Wire.ipv4(protocolNumber: 17, headerWords: 15, payload), .badIPHeader),
      (Wire.ipv4(protocolNumber: 17, corruptChecksum: true, payload), .badIPChecksum),
      (Wire.ipv4(protocolNumber: 17, totalLength: 29, payload), .badIPLength),
      (Wire.ipv4(protocolNumber: 17, totalLength: 19, payload), .badIPLength),
      (Wire.ipv4(protocolNumber: 17, flags: 0x2000, payload), .fragment),
      (Wire.ipv4(protocolNumber: 17, flags: 0x0001, payload), .fragment),
      (Wire.ipv4(protocolNumber: 17, ttl: 0, payload), .ttlExpired),
      (Array(Wire.ipv4(protocolNumber: 17, payload)[0..<19]), .badIPHeader),
    ]
    for (packet, reason) in cases {
      #expect(parse(Wire.ethernet(type: 0x0800, packet)) == .failure(reason))
    }
  }
}

struct ICMPEchoTests {
  @Test func writesAndParsesAnEchoRequest() throws {
    var buffer = [UInt8](repeating: 0, count: 64)
    for index in 42..<50 { buffer[index] = UInt8(index) }
    var out = buffer.mutableSpan
    ICMPEcho(type: ICMPEcho.echoRequest, identifier: 0xBEEF, sequence: 3).write(
      into: &out, at: 34, payloadLength: 8)
    let message = Array(buffer[34..<50])
    #expect(Wire.checksum(message) == 0)
    #expect(message[0] == 8)
    #expect(Wire.word(message, 4) == 0xBEEF)
    let echo = try span(buffer) { ICMPEcho.parse($0, at: 34, length: 16) }.get()
    #expect(echo == ICMPEcho(type: 8, identifier: 0xBEEF, sequence: 3))
  }

  @Test func refusesShortAndCorruptMessages() {
    var message = Wire.icmpEcho(type: 8, identifier: 1, sequence: 1, data: [1, 2, 3])
    #expect(span(message) { ICMPEcho.parse($0, at: 0, length: 7) } == .failure(.badICMP))
    message[9] ^= 0xFF
    #expect(
      span(message) { ICMPEcho.parse($0, at: 0, length: message.count) } == .failure(.badICMP))
  }
}

struct UDPHeaderTests {
  private func parse(_ frame: [UInt8]) -> Result<UDPHeader, DropReason> {
    span(frame) { bytes in
      IPv4Header.parse(bytes, length: frame.count).flatMap { UDPHeader.parse(bytes, in: $0) }
    }
  }

  private func frame(_ udp: [UInt8]) -> [UInt8] {
    Wire.ethernet(type: 0x0800, Wire.ipv4(protocolNumber: 17, udp))
  }

  @Test func parsesADatagramWithAndWithoutAChecksum() {
    let expected = UDPHeader(sourcePort: 5555, destinationPort: 7, length: 13)
    let payload: [UInt8] = Array("hello".utf8)
    #expect(
      parse(frame(Wire.udp(sourcePort: 5555, destinationPort: 7, payload))) == .success(expected))
    #expect(
      parse(frame(Wire.udp(sourcePort: 5555, destinationPort: 7, withChecksum: false, payload)))
        == .success(expected))
  }

  @Test func refusesABadChecksumAndLengthsThatDisagree() {
    let payload: [UInt8] = [1, 2, 3, 4]
    #expect(
      parse(frame(Wire.udp(sourcePort: 1, destinationPort: 7, corruptChecksum: true, payload)))
        == .failure(.badUDPChecksum))
    #expect(
      parse(frame(Wire.udp(sourcePort: 1, destinationPort: 7, lengthField: 13, payload)))
        == .failure(.badUDP))
    #expect(
      parse(frame(Wire.udp(sourcePort: 1, destinationPort: 7, lengthField: 11, payload)))
        == .failure(.badUDP))
    #expect(
      parse(frame(Wire.udp(sourcePort: 1, destinationPort: 7, lengthField: 4, payload)))
        == .failure(.badUDP))
    #expect(parse(frame([0, 1, 0, 7, 0, 8])) == .failure(.badUDP))
  }

  @Test func writesAChecksumThePlainSumAcceptsAndNeverZero() {
    // A payload chosen so that the checksum computes to zero: it must go out as FFFF.
    let source = IPv4Address(10, 0, 2, 15)
    let destination = IPv4Address(10, 0, 2, 2)
    var buffer = [UInt8](repeating: 0, count: 64)
    func write() {
      var out = buffer.mutableSpan
      UDPHeader(sourcePort: 7, destinationPort: 5555, length: 10).write(
        into: &out, at: 34, source: source, destination: destination)
    }
    write()
    let first = Wire.word(buffer, 40)
    #expect(
      Wire.checksum(
        Wire.ourAddress + Wire.gatewayAddress + [0, 17, 0, 10] + Array(buffer[34..<44])) == 0)
    buffer[42] = UInt8(first >> 8)
    buffer[43] = UInt8(first & 0xFF)
    write()
    #expect(Wire.word(buffer, 40) == 0xFFFF)
  }
}
