/// The pings the stack has out: which echo request each is, when it left and when its
/// reply came, so that a reply is matched to exactly the request it answers.

public struct PingTicket: Equatable, Sendable {
  let slot: Int
  let identifier: UInt16
}

struct PingTable {
  struct Ping {
    var address: IPv4Address
    var identifier: UInt16
    var sequence: UInt16
    var sentAt: UInt64
    var repliedAt: UInt64?
  }

  private var pings = InlineArray<4, Ping?>(repeating: nil)
  /// Each ping gets its own ICMP identifier, so that two callers using the same
  /// sequence number are not confused, nor a late reply to an earlier ping.
  private var nextIdentifier: UInt16

  init(firstIdentifier: UInt16) { nextIdentifier = firstIdentifier }

  mutating func start(_ address: IPv4Address, sequence: UInt16, now: UInt64) -> PingTicket? {
    for slot in pings.indices where pings[slot] == nil {
      let identifier = nextIdentifier
      nextIdentifier &+= 1
      pings[slot] = Ping(
        address: address, identifier: identifier, sequence: sequence, sentAt: now,
        repliedAt: nil)
      return PingTicket(slot: slot, identifier: identifier)
    }
    return nil
  }

  func ping(_ ticket: PingTicket) -> Ping? {
    guard pings.indices.contains(ticket.slot), let ping = pings[ticket.slot],
      ping.identifier == ticket.identifier
    else { return nil }
    return ping
  }

  mutating func markSent(_ ticket: PingTicket, now: UInt64) {
    guard var ping = ping(ticket) else { return }
    ping.sentAt = now
    pings[ticket.slot] = ping
  }

  /// Records a reply from `address`; whether it answers a ping that waits for one.
  mutating func match(
    from address: IPv4Address, identifier: UInt16, sequence: UInt16, now: UInt64
  ) -> Bool {
    for slot in pings.indices {
      guard var ping = pings[slot], ping.address == address, ping.identifier == identifier,
        ping.sequence == sequence, ping.repliedAt == nil
      else { continue }
      ping.repliedAt = now
      pings[slot] = ping
      return true
    }
    return false
  }

  mutating func end(_ ticket: PingTicket) {
    guard ping(ticket) != nil else { return }
    pings[ticket.slot] = nil
  }
}
