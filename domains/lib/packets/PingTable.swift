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

  @inline(__always)
  mutating func start(_ address: IPv4Address, sequence: UInt16, now: UInt64) -> PingTicket? {
    guard let slot = freeSlot() else { return nil }
    let identifier = nextIdentifier
    nextIdentifier &+= 1
    pings[slot] = Ping(
      address: address, identifier: identifier, sequence: sequence, sentAt: now,
      repliedAt: nil)
    return PingTicket(slot: slot, identifier: identifier)
  }

  @inline(__always)
  func freeSlot() -> Int? {
    let table = pings.span
    for slot in table.indices where table[slot] == nil { return slot }
    return nil
  }

  @inline(__always)
  func ping(_ ticket: PingTicket) -> Ping? {
    guard pings.indices.contains(ticket.slot), let ping = pings.span[ticket.slot],
      ping.identifier == ticket.identifier
    else { return nil }
    return ping
  }

  @inline(__always)
  mutating func markSent(_ ticket: PingTicket, now: UInt64) {
    guard var ping = ping(ticket) else { return }
    ping.sentAt = now
    pings[ticket.slot] = ping
  }

  /// Records a reply from `address`; whether it answers a ping that waits for one.
  @inline(__always)
  mutating func match(
    from address: IPv4Address, identifier: UInt16, sequence: UInt16, now: UInt64
  ) -> Bool {
    guard let slot = waiting(address, identifier, sequence), var ping = pings.span[slot] else {
      return false
    }
    ping.repliedAt = now
    pings[slot] = ping
    return true
  }

  /// The ping from `address` with this identifier and sequence that waits for its reply.
  @inline(__always)
  func waiting(_ address: IPv4Address, _ identifier: UInt16, _ sequence: UInt16) -> Int? {
    let table = pings.span
    for slot in table.indices {
      if let ping = table[slot], ping.address == address, ping.identifier == identifier,
        ping.sequence == sequence, ping.repliedAt == nil
      {
        return slot
      }
    }
    return nil
  }

  @inline(__always)
  mutating func end(_ ticket: PingTicket) {
    guard ping(ticket) != nil else { return }
    pings[ticket.slot] = nil
  }
}
