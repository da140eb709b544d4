/// Every malformed frame of the issue's list is dropped, counted under its reason, and
/// answered with nothing; the stack then still answers a good ping.
import Packets
import Testing

struct MalformedFrameTests {
  private static func ping(
    ttl: UInt8 = 64, flags: UInt16 = 0x4000, version: UInt8 = 4, headerWords: UInt8? = nil,
    totalLength: UInt16? = nil, corruptChecksum: Bool = false
  ) -> [UInt8] {
    Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(
        protocolNumber: 1, ttl: ttl, flags: flags, version: version, headerWords: headerWords,
        totalLength: totalLength, corruptChecksum: corruptChecksum,
        Wire.icmpEcho(type: 8, identifier: 1, sequence: 1, data: Array(0..<32))))
  }

  private static func datagram(lengthField: UInt16? = nil, corrupt: Bool = false) -> [UInt8] {
    Wire.ethernet(
      type: 0x0800,
      Wire.ipv4(
        protocolNumber: 17,
        Wire.udp(
          sourcePort: 5555, destinationPort: 7, lengthField: lengthField, corruptChecksum: corrupt,
          Array(0..<20))))
  }

  static let cases: [(String, [UInt8], Int?, DropReason)] = [
    ("runt", Array(ping()[0..<10]), nil, .runt),
    ("empty", [], nil, .runt),
    ("oversize", ping() + [UInt8](repeating: 0, count: 1500), nil, .oversize),
    ("length past the buffer", ping(), 4096, .oversize),
    ("negative length", ping(), -1, .runt),
    ("IP header cut short", Array(ping()[0..<30]), nil, .badIPHeader),
    ("IHL below 5", ping(headerWords: 4), nil, .badIPHeader),
    (
      "IHL past the frame",
      Wire.ethernet(type: 0x0800, Wire.ipv4(protocolNumber: 1, headerWords: 15, [1, 2, 3])), nil,
      .badIPHeader
    ),
    ("version 6 in an IPv4 frame", ping(version: 6), nil, .badIPHeader),
    ("bad IP checksum", ping(corruptChecksum: true), nil, .badIPChecksum),
    ("total length past the frame", ping(totalLength: 200), nil, .badIPLength),
    ("total length below the header", ping(totalLength: 12), nil, .badIPLength),
    ("UDP length past the packet", datagram(lengthField: 60), nil, .badUDP),
    ("UDP length below its header", datagram(lengthField: 4), nil, .badUDP),
    ("UDP length short of the packet", datagram(lengthField: 20), nil, .badUDP),
    ("bad UDP checksum", datagram(corrupt: true), nil, .badUDPChecksum),
    ("first fragment", ping(flags: 0x2000), nil, .fragment),
    ("later fragment", ping(flags: 185), nil, .fragment),
    ("TTL 0", ping(ttl: 0), nil, .ttlExpired),
    (
      "unknown EtherType", Wire.ethernet(type: 0x88B5, Array(ping()[14...])), nil, .unknownEtherType
    ),
    ("IPv6", Wire.ethernet(type: 0x86DD, Array(ping()[14...])), nil, .unknownEtherType),
    (
      "ARP hardware length 8",
      Wire.ethernet(to: Wire.broadcastMAC, type: 0x0806, Wire.arp(operation: 1, hardwareLength: 8)),
      nil, .badARP
    ),
    (
      "ARP protocol length 6",
      Wire.ethernet(to: Wire.broadcastMAC, type: 0x0806, Wire.arp(operation: 1, protocolLength: 6)),
      nil, .badARP
    ),
    (
      "ARP cut short", Array(Wire.ethernet(type: 0x0806, Wire.arp(operation: 1))[0..<38]), nil,
      .badARP
    ),
    (
      "TCP",
      Wire.ethernet(type: 0x0800, Wire.ipv4(protocolNumber: 6, [UInt8](repeating: 0, count: 20))),
      nil, .unknownProtocol
    ),
    (
      "from a multicast station",
      Wire.ethernet(from: [1, 0, 0x5E, 0, 0, 1], type: 0x0800, Array(ping()[14...])),
      nil, .notForUs
    ),
    (
      "to another station",
      Wire.ethernet(to: [2, 0, 0, 0, 0, 1], type: 0x0800, Array(ping()[14...])),
      nil, .notForUs
    ),
    (
      "from a broadcast address",
      Wire.ethernet(
        type: 0x0800,
        Wire.ipv4(
          from: [255, 255, 255, 255], protocolNumber: 1,
          Wire.icmpEcho(type: 8, identifier: 1, sequence: 1, data: []))), nil, .badIPHeader
    ),
  ]

  @Test(arguments: 0..<cases.count)
  func isDroppedAndCounted(_ index: Int) {
    let (name, frame, length, reason) = Self.cases[index]
    let bed = StackBed()
    _ = try? bed.stack.openSocket(port: 7).get()
    let action = bed.input(frame, length: length)
    #expect(action == .drop(reason), "\(name)")
    #expect(bed.stack.counters[reason] == 1, "\(name)")
    #expect(bed.stack.counters.totalDrops == 1, "\(name)")
    #expect(bed.pollAll().isEmpty, "\(name): nothing goes out")
    guard case .reply = bed.input(Self.ping()) else {
      Issue.record("\(name): a good ping after it was not answered")
      return
    }
  }

  @Test func everyTruncationOfGoodFramesIsHandled() {
    // Each good frame cut at every length, and with each byte flipped: whatever the
    // stack says, it must say it without trapping, and count what it drops.
    let bed = StackBed()
    _ = try? bed.stack.openSocket(port: 7).get()
    let frames = [
      Self.ping(), Self.datagram(), Wire.ethernet(type: 0x0806, Wire.arp(operation: 1)),
    ]
    var inputs = 0
    for frame in frames {
      for cut in 0...frame.count {
        bed.input(Array(frame[0..<cut]))
        inputs += 1
      }
      for index in frame.indices {
        var flipped = frame
        flipped[index] ^= 0x5A
        bed.input(flipped)
        inputs += 1
      }
    }
    let counters = bed.stack.counters
    #expect(counters.receivedFrames == UInt64(inputs))
    #expect(counters.totalDrops > 0 && counters.totalDrops < UInt64(inputs))
  }
}
