/// Why the network stack dropped a received frame.

/// Why the stack dropped a received frame: each has a counter (the
/// network stack's `NetworkStatus.drops`, indexed by `rawValue`).
public enum DropReason: Int, Equatable, Sendable, BitwiseCopyable, CaseIterable {
  case runt = 0
  case unknownEtherType
  case notForUs
  case badARP
  case badIPHeader
  case badIPChecksum
  case badIPLength
  case fragment
  case ttlExpired
  case unknownProtocol
  case badICMP
  case badUDP
  case badUDPChecksum
  case noSocket
  case socketQueueFull
  case noBuffer

  /// The number of reasons: the size of `NetworkStatus.drops`.
  public static let count = 16

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
    }
  }
}
