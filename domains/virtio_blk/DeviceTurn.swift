/// One call at a time has the disk.
///
/// A call waiting for its requests gives the domain back (a timed wait), so another call
/// can enter meanwhile; but the queue holds 42 requests, not two batches of 32, and a
/// request the queue refused would fail for no fault of the device. So calls take turns,
/// as they did when a waiting call kept the domain: the others wait for the turn, with
/// the domain free, and enter the device one by one.
import SwiftletLib

final class DeviceTurn {
  /// The longest a call waits for its turn: a turn lasts `VirtioDisk.completionTimeout`
  /// and a set-up at most, so this is reached only by a broken domain; with the call's
  /// own turn it fits the domain's 2 s call budget.
  static let longestWait: UInt64 = 1_000_000_000

  private var taken = false
  /// Calls waiting for the turn: only then does giving it back signal (a kernel call).
  private var waiting = 0
  private let released = DomainEvent(number: 0)!

  /// Takes the turn, waiting while another call has it; false if the wait ran out. An
  /// untaken turn costs no kernel call.
  func take() -> Bool {
    guard taken else {
      taken = true
      return true
    }
    waiting += 1
    defer { waiting -= 1 }
    let deadline = DomainKernel.nanoseconds &+ Self.longestWait
    var seen = released.count
    while taken {
      let now = DomainKernel.nanoseconds
      guard now < deadline else { return false }
      seen = released.wait(after: seen, timeoutNanoseconds: deadline - now)
    }
    taken = true
    return true
  }

  /// Gives the turn to the next call waiting, if any.
  func give() {
    taken = false
    if waiting > 0 { released.signal() }
  }
}
