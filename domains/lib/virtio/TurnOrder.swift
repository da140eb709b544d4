/// Who has the device next: first come, first served, by ticket.
///
/// A driver's calls take turns at its device, and a call waiting for its turn gives the
/// domain back. Handing the turn back by only marking it free lets the caller that gave
/// it back take it again before any waiter runs: a kernel thread outranks the domain
/// threads waiting, and a caller hammering the driver is back at once, so the waiters
/// starve until their waits run out. Here the turn goes, as it is given back, to the
/// oldest ticket still waiting; a caller that comes back queues behind it.
///
/// A waiter whose wait runs out withdraws its ticket (`leave`), so the turn is never
/// handed to a caller that has gone. The queue holds `capacity` tickets, the holder's
/// included; a caller beyond that is refused at once (`TurnOrderError.full`) rather
/// than kept waiting without bound.
///
/// A class, not a struct: the driver keeps one, and calls it inside no access to its
/// own storage (an access held across a call into another module is one the build's
/// exclusivity check cannot prove alone, docs/EXCLUSIVITY.md).
public final class TurnOrder {
  /// A place in the queue, valid until it leaves.
  public struct Ticket: Equatable, Sendable {
    fileprivate let number: UInt64
  }

  /// Tickets in the order taken, the holder's first: a ring of `capacity` entries.
  private var tickets = InlineArray<64, UInt64>(repeating: 0)
  private var first = 0
  /// Tickets queued, the holder's included.
  public private(set) var count = 0
  private var issued: UInt64 = 0

  /// The most tickets queued at once.
  public static var capacity: Int { InlineArray<64, UInt64>.count }

  public init() {}

  /// Callers waiting for the turn (not counting the holder).
  public var waiting: Int { max(count - 1, 0) }

  /// Takes a ticket at the back of the queue. It holds the turn at once if the queue was
  /// empty (`holds`); otherwise its caller waits until it does, or leaves.
  public func take() -> Result<Ticket, TurnOrderError> {
    guard count < Self.capacity else { return .failure(.full(capacity: Self.capacity)) }
    issued &+= 1
    tickets[(first + count) % Self.capacity] = issued
    count += 1
    return .success(Ticket(number: issued))
  }

  /// Whether `ticket` has the turn: it is the oldest in the queue.
  public func holds(_ ticket: Ticket) -> Bool {
    count > 0 && tickets[first] == ticket.number
  }

  /// Takes `ticket` out of the queue: the holder gives the turn back, or a waiter
  /// withdraws. Returns true if the turn passed to a waiting ticket, whose caller must
  /// be woken; false if it stayed where it was or nobody waits. A ticket not in the
  /// queue (it left already) changes nothing.
  public func leave(_ ticket: Ticket) -> Bool {
    guard let position = (0..<count).first(where: { slot(at: $0) == ticket.number }) else {
      return false
    }
    if position == 0 {
      first = (first + 1) % Self.capacity
      count -= 1
      return count > 0
    }
    // A waiter leaves from the middle: the ones behind it close up, in order.
    for later in position..<(count - 1) {
      tickets[(first + later) % Self.capacity] = slot(at: later + 1)
    }
    count -= 1
    return false
  }

  private func slot(at position: Int) -> UInt64 {
    tickets[(first + position) % Self.capacity]
  }
}

/// Why a caller got no ticket.
public enum TurnOrderError: Error, Equatable, Sendable {
  /// `capacity` callers already hold or wait for the turn.
  case full(capacity: Int)

  /// What went wrong, in words, for a log line.
  public var message: String {
    switch self {
    case .full: "the queue for the device's turn is full"
    }
  }
}
