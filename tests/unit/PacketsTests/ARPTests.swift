/// ARP in the stack: requests for our address answered in place, the cache filled only
/// by those who talk to us, bounded, expiring, and resolution before sending.
import Packets
import Testing

struct ARPTests {
  private let gateway = IPv4Endpoint(address: IPv4Address(10, 0, 2, 2), port: 5555)

  @Test func answersARequestForOurAddressInPlace() {
    let bed = StackBed()
    let request = Wire.ethernet(
      to: Wire.broadcastMAC, type: 0x0806,
      Wire.arp(operation: 1, senderMAC: [2, 0, 0, 0, 0, 9], senderAddress: [10, 0, 2, 9]))
    guard case .reply(let length) = bed.input(Wire.padded(request)) else {
      Issue.record("the request was not answered")
      return
    }
    let reply = bed.frame(length)
    #expect(length == 60)
    #expect(Array(reply[0..<6]) == [2, 0, 0, 0, 0, 9], "to the asker")
    #expect(Array(reply[6..<12]) == Wire.ourMAC)
    #expect(Wire.word(reply, 12) == 0x0806)
    #expect(
      Array(reply[14..<42])
        == Wire.arp(
          operation: 2, senderMAC: Wire.ourMAC, senderAddress: Wire.ourAddress,
          targetMAC: [2, 0, 0, 0, 0, 9], targetAddress: [10, 0, 2, 9]))
    #expect(reply[42..<60].allSatisfy { $0 == 0 })
    #expect(bed.stack.arpEntry(at: 0)?.address == IPv4Address(10, 0, 2, 9), "the asker is cached")
  }

  @Test func ignoresRequestsForOtherAddressesAndLearnsNothingFromThem() {
    let bed = StackBed()
    for host in 0..<40 {
      let request = Wire.ethernet(
        to: Wire.broadcastMAC, type: 0x0806,
        Wire.arp(
          operation: 1, senderMAC: [6, 0, 0, 0, 0, UInt8(host)],
          senderAddress: [10, 0, 2, UInt8(100 + host)], targetAddress: [10, 0, 2, 200]))
      #expect(bed.input(request) == .drop(.notForUs))
    }
    #expect(bed.stack.arpEntryCount == 0)
    #expect(bed.stack.counters[.notForUs] == 40)
  }

  @Test func aFloodOfAskersOnlyReplacesEntries() {
    let bed = StackBed()
    for host in 0..<200 {
      bed.advance(seconds: 0.01)
      let request = Wire.ethernet(
        to: Wire.broadcastMAC, type: 0x0806,
        Wire.arp(
          operation: 1, senderMAC: [6, 0, 0, 0, UInt8(host >> 8), UInt8(host & 0xFF)],
          senderAddress: [10, 0, 2, UInt8(20 + host)]))
      guard case .reply = bed.input(request) else {
        Issue.record("request \(host) was not answered")
        return
      }
    }
    #expect(bed.stack.arpEntryCount == ARPCache.capacity)
    // The newest askers are the ones kept.
    #expect(bed.stack.arpEntry(at: 0) != nil)
    var kept: [UInt8] = []
    var index = 0
    while let entry = bed.stack.arpEntry(at: index) {
      kept.append(entry.address.byte(3))
      index += 1
    }
    #expect(kept.sorted() == (184...199).map { UInt8(20 + $0) })
  }

  @Test func entriesExpireAndARefreshExtendsThem() {
    let bed = StackBed()
    bed.learnGateway()
    #expect(bed.stack.arpEntryCount == 1)
    bed.advance(seconds: 50)
    bed.learnGateway()  // refreshed at 50 s: lives until 110 s
    bed.advance(seconds: 50)
    #expect(bed.pollAll().isEmpty)
    #expect(bed.stack.arpEntryCount == 1)
    bed.advance(seconds: 11)
    #expect(bed.pollAll().isEmpty)
    #expect(bed.stack.arpEntryCount == 0, "expired 60 s after the last confirmation")
    #expect(bed.send([1], to: gateway) == .resolving)
  }

  @Test func resolvesBeforeSendingAndRetriesThenGivesUp() {
    let bed = StackBed()
    #expect(bed.send([1, 2, 3], to: gateway) == .resolving)
    let requests = bed.pollAll()
    #expect(requests.count == 1)
    let request = requests[0]
    #expect(Array(request[0..<6]) == Wire.broadcastMAC)
    #expect(
      Array(request[14..<42])
        == Wire.arp(
          operation: 1, senderMAC: Wire.ourMAC, senderAddress: Wire.ourAddress,
          targetAddress: Wire.gatewayAddress))
    #expect(bed.send([1, 2, 3], to: gateway) == .resolving, "a second datagram waits too")
    #expect(bed.pollAll().isEmpty, "no second request before a second has passed")
    bed.advance(seconds: 1)
    #expect(bed.pollAll().count == 1)
    bed.advance(seconds: 1)
    #expect(bed.pollAll().count == 1)
    bed.advance(seconds: 1)
    #expect(bed.pollAll().isEmpty, "three requests, then it gives up")
    #expect(bed.send([1], to: gateway) == .failed(.unreachable))
    bed.advance(seconds: 3)
    #expect(bed.pollAll().isEmpty)
    #expect(bed.send([1], to: gateway) == .resolving, "after the hold, it asks again")
  }

  @Test func aReplyResolvesAndTheDatagramGoes() {
    let bed = StackBed()
    #expect(bed.send([9], to: gateway) == .resolving)
    _ = bed.pollAll()
    #expect(
      bed.input(Wire.ethernet(type: 0x0806, Wire.arp(operation: 2, targetMAC: Wire.ourMAC)))
        == .consumed)
    guard case .send(let length) = bed.send([9], to: gateway) else {
      Issue.record("the datagram did not go after the reply")
      return
    }
    #expect(Array(bed.frame(length)[0..<6]) == Wire.gatewayMAC)
  }

  @Test func refusesMalformedAndImpossibleARP() {
    let bed = StackBed()
    let cases: [[UInt8]] = [
      Wire.arp(operation: 1, hardwareLength: 8),
      Wire.arp(operation: 1, protocolLength: 6),
      Array(Wire.arp(operation: 1)[0..<24]),
      Wire.arp(operation: 7),
      Wire.arp(operation: 1, senderMAC: Wire.broadcastMAC),
      Wire.arp(operation: 1, senderAddress: [255, 255, 255, 255]),
      Wire.arp(operation: 1, senderAddress: Wire.ourAddress),  // someone claims our address
    ]
    for arp in cases {
      #expect(bed.input(Wire.ethernet(to: Wire.broadcastMAC, type: 0x0806, arp)) == .drop(.badARP))
    }
    #expect(bed.stack.counters[.badARP] == UInt64(cases.count))
    #expect(bed.stack.arpEntryCount == 0)
  }

  @Test func withoutAnAddressAnswersNothing() {
    let bed = StackBed(mode: .dhcp)
    let request = Wire.ethernet(to: Wire.broadcastMAC, type: 0x0806, Wire.arp(operation: 1))
    #expect(bed.input(request) == .drop(.notForUs))
  }
}
