/// Pings: answered in place (the request's own buffer becomes the reply), and sent,
/// with each reply matched to exactly its request.
import Packets
import Testing

struct ICMPTests {
  private func ping(
    identifier: UInt16 = 0x1234, sequence: UInt16 = 7, data: [UInt8] = Array(0..<56),
    to destination: [UInt8] = Wire.ourAddress, options: [UInt8] = []
  ) -> [UInt8] {
    Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(
        to: destination, protocolNumber: 1, options: options,
        Wire.icmpEcho(type: 8, identifier: identifier, sequence: sequence, data: data)))
  }

  @Test func answersAPingInPlace() {
    let bed = StackBed()
    let request = ping()
    guard case .reply(let length) = bed.input(request) else {
      Issue.record("the ping was not answered")
      return
    }
    let reply = bed.frame(length)
    #expect(length == request.count)
    #expect(Array(reply[0..<6]) == Wire.gatewayMAC, "back to the station it came from")
    #expect(Array(reply[6..<12]) == Wire.ourMAC)
    let ip = Array(reply[14..<34])
    #expect(Wire.checksum(ip) == 0, "IP header checksum")
    #expect(Array(ip[12..<16]) == Wire.ourAddress)
    #expect(Array(ip[16..<20]) == Wire.gatewayAddress)
    #expect(ip[8] == 64)
    let icmp = Array(reply[34..<length])
    #expect(Wire.checksum(icmp) == 0, "ICMP checksum")
    #expect(icmp[0] == 0, "echo reply")
    #expect(Wire.word(icmp, 4) == 0x1234 && Wire.word(icmp, 6) == 7)
    #expect(Array(icmp[8...]) == Array(0..<56), "the same data")
  }

  @Test func answersAnAllZeroPingWithAChecksumReceiversAccept() {
    // The reply's message sums to zero: its checksum must be FFFF, not 0000.
    let bed = StackBed()
    guard case .reply(let length) = bed.input(ping(identifier: 0, sequence: 0, data: [0, 0, 0, 0]))
    else {
      Issue.record("the ping was not answered")
      return
    }
    #expect(Wire.word(bed.frame(length), 36) == 0xFFFF)
    #expect(Wire.checksum(Array(bed.frame(length)[34..<46])) == 0)
  }

  @Test func answersAPaddedPingWithItsOwnLength() {
    let bed = StackBed()
    let request = Wire.padded(ping(data: [0xAB]))
    guard case .reply(let length) = bed.input(request) else {
      Issue.record("the ping was not answered")
      return
    }
    let reply = bed.frame(length)
    #expect(length == 60)
    #expect(Wire.word(reply, 16) == 29, "total length from the request's header")
    #expect(Wire.checksum(Array(reply[34..<43])) == 0)
  }

  @Test func dropsTheRequestsOptionsFromTheReply() {
    let bed = StackBed()
    let request = ping(data: [1, 2, 3, 4], options: [1, 1, 1, 0])
    guard case .reply(let length) = bed.input(request) else {
      Issue.record("the ping was not answered")
      return
    }
    let reply = bed.frame(length)
    #expect(reply[14] == 0x45)
    #expect(Wire.word(reply, 16) == 20 + 12)
    #expect(Wire.checksum(Array(reply[14..<34])) == 0)
    #expect(Wire.checksum(Array(reply[34..<46])) == 0)
    #expect(Array(reply[42..<46]) == [1, 2, 3, 4])
  }

  @Test func ignoresBroadcastPingsAndOtherICMP() {
    let bed = StackBed()
    #expect(bed.input(ping(to: [10, 0, 2, 255])) == .drop(.notForUs))
    #expect(bed.input(ping(to: [255, 255, 255, 255])) == .drop(.notForUs))
    let unreachable = Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(protocolNumber: 1, Wire.icmpEcho(type: 3, identifier: 0, sequence: 0, data: [])))
    #expect(bed.input(unreachable) == .drop(.unknownProtocol))
    var corrupt = ping()
    corrupt[40] ^= 0xFF
    #expect(bed.input(corrupt) == .drop(.badICMP))
  }

  @Test func sendsAPingAndMatchesItsReply() {
    let bed = StackBed()
    bed.learnGateway()
    let gateway = IPv4Address(10, 0, 2, 2)
    guard let ticket = bed.stack.beginPing(to: gateway, sequence: 3, now: bed.now) else {
      Issue.record("no room for a ping")
      return
    }
    let outcome = bed.withFrame { bed.stack.writePing(ticket, into: &$0, now: bed.now) }
    guard case .send(let length) = outcome else {
      Issue.record("the ping did not go: \(outcome)")
      return
    }
    let request = bed.frame(length)
    #expect(Array(request[0..<6]) == Wire.gatewayMAC)
    #expect(Wire.checksum(Array(request[14..<34])) == 0)
    let message = Array(request[34..<(34 + 8 + NetworkStack.pingDataLength)])
    #expect(Wire.checksum(message) == 0)
    #expect(message[0] == 8 && Wire.word(message, 6) == 3)
    let identifier = Wire.word(message, 4)
    bed.advance(seconds: 0.002)
    // A reply with another identifier, or from another host, is not the answer.
    let wrong = Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(
        protocolNumber: 1,
        Wire.icmpEcho(type: 0, identifier: identifier &+ 1, sequence: 3, data: Array(message[8...]))
      ))
    #expect(bed.input(wrong) == .drop(.notForUs))
    let stranger = Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(
        from: [10, 0, 2, 3], protocolNumber: 1,
        Wire.icmpEcho(type: 0, identifier: identifier, sequence: 3, data: [])))
    #expect(bed.input(stranger) == .drop(.notForUs))
    #expect(bed.stack.pingReplyTime(ticket) == nil)
    let reply = Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(
        protocolNumber: 1,
        Wire.icmpEcho(type: 0, identifier: identifier, sequence: 3, data: Array(message[8...]))))
    #expect(bed.input(reply) == .consumed)
    #expect(bed.stack.pingReplyTime(ticket) == 2_000_000)
    bed.stack.endPing(ticket)
    #expect(bed.stack.pingReplyTime(ticket) == nil)
  }

  @Test func aPingWaitsForARPAndFailsWithoutAnAddress() {
    let bed = StackBed()
    let ticket = bed.stack.beginPing(to: IPv4Address(10, 0, 2, 2), sequence: 1, now: bed.now)!
    #expect(bed.withFrame { bed.stack.writePing(ticket, into: &$0, now: bed.now) } == .resolving)
    let offNet = bed.stack.beginPing(to: IPv4Address(127, 0, 0, 1), sequence: 1, now: bed.now)!
    #expect(
      bed.withFrame { bed.stack.writePing(offNet, into: &$0, now: bed.now) }
        == .failed(.unreachable))
    let unconfigured = StackBed(mode: .dhcp)
    let none = unconfigured.stack.beginPing(to: IPv4Address(10, 0, 2, 2), sequence: 1, now: 0)!
    #expect(
      unconfigured.withFrame { unconfigured.stack.writePing(none, into: &$0, now: 0) }
        == .failed(.noNetwork))
  }

  @Test func theTableHoldsFourPingsAtOnce() {
    let bed = StackBed()
    let address = IPv4Address(10, 0, 2, 2)
    let tickets = (0..<4).compactMap {
      bed.stack.beginPing(to: address, sequence: UInt16($0), now: 0)
    }
    #expect(tickets.count == 4)
    #expect(bed.stack.beginPing(to: address, sequence: 9, now: 0) == nil)
    bed.stack.endPing(tickets[0])
    #expect(bed.stack.beginPing(to: address, sequence: 9, now: 0) != nil)
  }
}
