/// One call at a time has the disk, in the order the calls came.
///
/// A call waiting for its requests gives the domain back (a timed wait), so another call
/// can enter meanwhile; but the queue holds 42 requests, not two batches of 32, and a
/// request the queue refused would fail for no fault of the device. So calls take turns,
/// as they did when a waiting call kept the domain: the others wait for the turn, with
/// the domain free, and enter the device one by one, first come first served
/// (`TurnOrder`): the turn given back goes to the oldest waiter, so a caller that comes
/// straight back, however it outranks the waiters, queues behind them.
import SwiftletLib
import Virtio

final class DeviceTurn {
  /// The longest a call waits for its turn: a turn lasts `VirtioDisk.completionTimeout`
  /// and a set-up at most, so this is reached only behind a broken domain or more callers
  /// than the disk can serve; with the call's own turn it fits the domain's 2 s call
  /// budget.
  static let longestWait: UInt64 = 1_000_000_000

  private let order = TurnOrder()
  /// Signalled when the turn passes to a waiter: the waiters look whose it is.
  private let handedOver = DomainEvent(number: 0)!

  /// Waits for the turn, `longestWait` at most, and returns the ticket that holds it
  /// (to give back, `give`); nil if the wait ran out (the ticket withdrawn) or the queue
  /// was full. A turn nobody has costs no kernel call.
  func take() -> TurnOrder.Ticket? {
    let ticket: TurnOrder.Ticket
    switch order.take() {
    case .success(let taken): ticket = taken
    case .failure(let error):
      DomainKernel.log(
        "virtio-blk: \(error.message) (\(TurnOrder.capacity) calls); refusing a call")
      return nil
    }
    guard !order.holds(ticket) else { return ticket }
    let deadline = DomainKernel.nanoseconds &+ Self.longestWait
    var seen = handedOver.count
    while !order.holds(ticket) {
      let now = DomainKernel.nanoseconds
      guard now < deadline else {
        // Not the holder, so leaving hands nobody the turn.
        _ = order.leave(ticket)
        return nil
      }
      seen = handedOver.wait(after: seen, timeoutNanoseconds: deadline - now)
    }
    return ticket
  }

  /// Gives the turn to the oldest call waiting, if any.
  func give(_ ticket: TurnOrder.Ticket) {
    if order.leave(ticket) { handedOver.signal() }
  }
}
