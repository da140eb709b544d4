/// Datagrams in and out: delivered to the open socket with the payload where the
/// interfaces say, refused when malformed, built with a checksum the receiver accepts.
import Packets
import Testing

struct UDPTests {
  private let peer = IPv4Endpoint(address: IPv4Address(10, 0, 2, 2), port: 5555)

  private func openEcho(_ bed: StackBed) -> UDPSocket? {
    try? bed.stack.openSocket(port: 7).get()
  }

  @Test func deliversADatagramToItsSocket() {
    let bed = StackBed()
    let socket = openEcho(bed)
    let payload = Array("hello, world".utf8)
    let action = bed.input(Wire.udpFrame(payload))
    #expect(
      action
        == .deliver(
          Delivery(socket: socket!, remote: peer, localPort: 7, payloadLength: payload.count)))
    #expect(Array(bed.buffer[42..<(42 + payload.count)]) == payload)
  }

  @Test func takesTheLengthFromUDPInAPaddedFrame() {
    let bed = StackBed()
    _ = openEcho(bed)
    let frame = Wire.padded(Wire.udpFrame([0x42]))
    #expect(frame.count == 60)
    guard case .deliver(let delivery) = bed.input(frame) else {
      Issue.record("not delivered")
      return
    }
    #expect(delivery.payloadLength == 1)
  }

  @Test func movesThePayloadToItsPlaceWhenTheIPHeaderHasOptions() {
    let bed = StackBed()
    _ = openEcho(bed)
    let payload: [UInt8] = [1, 2, 3, 4, 5]
    let frame = Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(
        protocolNumber: 17, options: [1, 1, 1, 0],
        Wire.udp(sourcePort: 5555, destinationPort: 7, payload)))
    guard case .deliver(let delivery) = bed.input(frame) else {
      Issue.record("not delivered")
      return
    }
    #expect(delivery.payloadLength == 5)
    #expect(Array(bed.buffer[42..<47]) == payload)
  }

  @Test func acceptsBroadcastsAndADatagramWithoutChecksum() {
    let bed = StackBed()
    _ = openEcho(bed)
    let broadcast = Wire.ethernet(
      to: Wire.broadcastMAC, type: 0x0800,
      Wire.ipv4(
        to: [255, 255, 255, 255], protocolNumber: 17,
        Wire.udp(
          to: [255, 255, 255, 255], sourcePort: 5555, destinationPort: 7, withChecksum: false,
          [1])))
    guard case .deliver = bed.input(broadcast) else {
      Issue.record("a broadcast datagram was not delivered")
      return
    }
  }

  @Test func refusesWhatHasNoSocketOrIsMalformed() {
    let bed = StackBed()
    _ = openEcho(bed)
    #expect(bed.input(Wire.udpFrame(destinationPort: 9, [1])) == .drop(.noSocket))
    #expect(bed.input(Wire.udpFrame(sourcePort: 0, [1])) == .drop(.badUDP))
    let corrupt = Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(
        protocolNumber: 17, Wire.udp(sourcePort: 1, destinationPort: 7, corruptChecksum: true, [1]))
    )
    #expect(bed.input(corrupt) == .drop(.badUDPChecksum))
    let long = Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(
        protocolNumber: 17,
        Wire.udp(sourcePort: 1, destinationPort: 7, withChecksum: false, lengthField: 40, [1])))
    #expect(bed.input(long) == .drop(.badUDP))
    let toSomeoneElse = Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(
        to: [10, 0, 2, 99], protocolNumber: 17, Wire.udp(sourcePort: 1, destinationPort: 7, [1])))
    #expect(bed.input(toSomeoneElse) == .drop(.notForUs))
  }

  @Test func buildsADatagramTheWireAccepts() {
    let bed = StackBed()
    bed.learnGateway()
    let payload = (0..<300).map { UInt8($0 & 0xFF) }
    guard case .send(let length) = bed.send(payload, to: peer) else {
      Issue.record("not sent")
      return
    }
    let frame = bed.frame(length)
    #expect(length == 42 + 300)
    #expect(Array(frame[0..<6]) == Wire.gatewayMAC)
    #expect(Array(frame[6..<12]) == Wire.ourMAC)
    let ip = Array(frame[14..<34])
    #expect(Wire.checksum(ip) == 0)
    #expect(Wire.word(ip, 2) == 20 + 8 + 300)
    #expect(Array(ip[12..<16]) == Wire.ourAddress && Array(ip[16..<20]) == Wire.gatewayAddress)
    let udp = Array(frame[34..<length])
    #expect(Wire.word(udp, 0) == 7 && Wire.word(udp, 2) == 5555 && Wire.word(udp, 4) == 308)
    let pseudo = Wire.ourAddress + Wire.gatewayAddress + [0, 17] + Wire.bytes16(308)
    #expect(Wire.checksum(pseudo + udp) == 0)
    #expect(Array(udp[8...]) == payload)
  }

  @Test func anEchoGoesBackWhereTheDatagramCameFrom() {
    let bed = StackBed()
    bed.learnGateway()
    _ = openEcho(bed)
    guard case .deliver(let delivery) = bed.input(Wire.padded(Wire.udpFrame([7, 7]))) else {
      Issue.record("not delivered")
      return
    }
    // The echo server sends the same buffer back to `delivery.remote`.
    let outcome = bed.withFrame {
      bed.stack.writeDatagram(
        &$0, from: 7, to: delivery.remote, payloadLength: delivery.payloadLength, now: bed.now)
    }
    #expect(outcome == .send(length: 60))
    let echo = bed.frame(60)
    #expect(Wire.word(echo, 36) == 5555 && Wire.word(echo, 16) == 30)
    #expect(Array(echo[42..<44]) == [7, 7])
    #expect(echo[44..<60].allSatisfy { $0 == 0 }, "padding, not the old frame's bytes")
    // And a second stack takes it in as a good datagram.
    let peerBed = StackBed(
      mode: .fixed(
        InterfaceAddress(
          address: IPv4Address(10, 0, 2, 2), prefixLength: 24, gateway: nil)))
    _ = try? peerBed.stack.openSocket(port: 5555).get()
    var asPeer = echo
    for index in 0..<6 { asPeer[index] = Wire.ourMAC[index] }  // as if addressed to it
    let seen = peerBed.input(asPeer)
    guard case .deliver(let received) = seen else {
      Issue.record("the peer refused the echo: \(seen)")
      return
    }
    #expect(received.payloadLength == 2 && received.remote.port == 7)
  }

  @Test func refusesWhatCannotBeSent() {
    let bed = StackBed()
    bed.learnGateway()
    #expect(bed.send([UInt8](repeating: 0, count: 1473), to: peer) == .failed(.tooLong))
    guard case .send = bed.send([UInt8](repeating: 0, count: 1472), to: peer) else {
      Issue.record("the largest datagram did not go")
      return
    }
    #expect(
      bed.send([1], to: IPv4Endpoint(address: IPv4Address(10, 0, 2, 2), port: 0))
        == .failed(.unreachable))
    #expect(
      bed.send([1], to: IPv4Endpoint(address: IPv4Address(224, 0, 0, 1), port: 9))
        == .failed(.unreachable))
    #expect(
      bed.send([1], to: IPv4Endpoint(address: IPv4Address(10, 0, 2, 15), port: 9))
        == .failed(.unreachable))
    guard case .send(let length) = bed.send([1], to: IPv4Endpoint(address: .broadcast, port: 9))
    else {
      Issue.record("a broadcast did not go")
      return
    }
    #expect(Array(bed.frame(length)[0..<6]) == Wire.broadcastMAC)
    let noGateway = StackBed(
      mode: .fixed(
        InterfaceAddress(address: IPv4Address(10, 0, 2, 15), prefixLength: 24, gateway: nil)))
    #expect(
      noGateway.send([1], to: IPv4Endpoint(address: IPv4Address(8, 8, 8, 8), port: 53))
        == .failed(.unreachable))
    let unconfigured = StackBed(mode: .dhcp)
    #expect(unconfigured.send([1], to: peer) == .failed(.noNetwork))
  }

  @Test func offNetworkDatagramsGoToTheGateway() {
    let bed = StackBed()
    bed.learnGateway()
    guard
      case .send(let length) = bed.send(
        [1], to: IPv4Endpoint(address: IPv4Address(192, 0, 2, 1), port: 9))
    else {
      Issue.record("not sent")
      return
    }
    let frame = bed.frame(length)
    #expect(Array(frame[0..<6]) == Wire.gatewayMAC)
    #expect(Array(frame[30..<34]) == [192, 0, 2, 1])
  }
}

struct SocketTableTests {
  @Test func opensClosesAndRefusesStaleSockets() throws {
    let bed = StackBed()
    let first = try bed.stack.openSocket(port: 7).get()
    #expect(bed.stack.openSocket(port: 7) == .failure(.portInUse))
    #expect(bed.stack.openSocket(port: 0) == .failure(.badPort))
    #expect(bed.stack.port(of: first) == 7)
    #expect(bed.stack.closeSocket(first))
    #expect(!bed.stack.closeSocket(first))
    #expect(bed.stack.port(of: first) == nil)
    let second = try bed.stack.openSocket(port: 7).get()
    #expect(second.slot == first.slot && second.generation != first.generation)
    #expect(bed.stack.port(of: first) == nil, "the old handle does not reach the new socket")
    #expect(bed.input(Wire.udpFrame([1])) != .drop(.noSocket))
  }

  @Test func aPortWhoseOwnerDiedIsTakenBackAndNoOtherIs() throws {
    let bed = StackBed()
    var alive: Set<UInt64> = [1, 2]
    let first = try bed.stack.openSocket(port: 7, owner: 1, isAlive: { alive.contains($0) }).get()
    #expect(
      bed.stack.openSocket(port: 7, owner: 2, isAlive: { alive.contains($0) })
        == .failure(.portInUse), "a live owner keeps its port")
    alive.remove(1)  // the owner crashed without closing
    let second = try bed.stack.openSocket(port: 7, owner: 2, isAlive: { alive.contains($0) }).get()
    #expect(bed.stack.port(of: first) == nil, "the dead owner's handle is stale")
    #expect(bed.stack.port(of: second) == 7)
  }

  @Test func holdsSixteenSockets() {
    let bed = StackBed()
    for port in 1...16 { #expect((try? bed.stack.openSocket(port: UInt16(port)).get()) != nil) }
    #expect(bed.stack.openSocket(port: 17) == .failure(.noRoom))
  }

  @Test func aRestartedStacksSocketsAreNotTheOldOnes() throws {
    let before = try StackBed(seed: 1).stack.openSocket(port: 7).get()
    let after = StackBed(seed: 0x5555_0000_0000_0000)
    let reopened = try after.stack.openSocket(port: 7).get()
    #expect(before.slot == reopened.slot && before.generation != reopened.generation)
    #expect(after.stack.port(of: before) == nil)
  }
}
