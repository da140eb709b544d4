/// Why the network stack dropped a received frame.

/// Why the stack dropped a received frame: each has a counter (the network stack's
/// `NetworkStatus.drops`, indexed by `rawValue`). New reasons go at the end, so that a
/// reason's number never changes.
public enum DropReason: Int, Error, Equatable, Sendable, BitwiseCopyable, CaseIterable {
  /// Shorter than an Ethernet header.
  case runt = 0
  /// Neither IPv4 nor ARP (IPv6 router advertisements from slirp land here).
  case unknownEtherType
  /// Well formed, but not addressed to this stack, or answering nothing it asked.
  case notForUs
  /// An ARP packet that is not Ethernet/IPv4, is cut short, or claims an impossible sender.
  case badARP
  /// Not version 4, a header length under 20 or past the frame, or an impossible source.
  case badIPHeader
  case badIPChecksum
  /// A total length shorter than the header or past the end of the frame.
  case badIPLength
  /// A fragment (more-fragments set or a non-zero offset): the stack reassembles nothing.
  case fragment
  /// A time to live of 0.
  case ttlExpired
  /// Neither ICMP nor UDP, or an ICMP message other than echo.
  case unknownProtocol
  /// An ICMP message shorter than its header or with a bad checksum.
  case badICMP
  /// A UDP datagram shorter than its header, a length field that disagrees with the IP
  /// payload, or source port 0.
  case badUDP
  case badUDPChecksum
  /// A UDP datagram for a port without a socket.
  case noSocket
  /// A UDP datagram for a socket whose queue was full.
  case socketQueueFull
  /// No buffer was left to take the frame in.
  case noBuffer
  /// Longer than the longest Ethernet frame (1514 bytes), or than the buffer.
  case oversize
  /// A malformed DHCP reply.
  case badDHCP

  /// The number of reasons (`NetworkStatus.drops` has room for more).
  public static var count: Int { 18 }

  public var name: StaticString {
    switch self {
    case .runt: "runt"
    case .unknownEtherType: "unknown-ethertype"
    case .notForUs: "not-for-us"
    case .badARP: "bad-arp"
    case .badIPHeader: "bad-ip-header"
    case .badIPChecksum: "bad-ip-checksum"
    case .badIPLength: "bad-ip-length"
    case .fragment: "fragment"
    case .ttlExpired: "ttl-expired"
    case .unknownProtocol: "unknown-protocol"
    case .badICMP: "bad-icmp"
    case .badUDP: "bad-udp"
    case .badUDPChecksum: "bad-udp-checksum"
    case .noSocket: "no-socket"
    case .socketQueueFull: "socket-queue-full"
    case .noBuffer: "no-buffer"
    case .oversize: "oversize"
    case .badDHCP: "bad-dhcp"
    }
  }
}
