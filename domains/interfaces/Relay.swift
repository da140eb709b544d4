// The Relay interface: a well-behaved domain the hostile domain calls through.
import SwiftletLib

/// Errors: every method can return `.domainCrashed`, `.timedOut` or `.unavailable`.
public protocol Relay {
  /// Calls `Hostile.trap` and returns the status word of what came back (the caller of
  /// `bounce` should never see it: it was the hostile domain, which is dead by then).
  func bounce() -> Result<Int, RpcError>

  /// Counts a call: the short nested call of `Hostile.workBetweenNestedCalls`.
  func ping() -> Result<Int, RpcError>

  /// Adds one to a total the slow way, reading it, working 50 us, and writing it back:
  /// two threads inside at once would lose updates. Returns the total.
  func slowAdd() -> Result<Int, RpcError>

  /// Works `milliseconds`, then moves a new shared-heap value back: a result on its way
  /// to a caller that may die meanwhile. Ownership: the returned RRef is the caller's.
  func slowValue(milliseconds: Int) -> Result<RRef<Int>, RpcError>

  /// How many calls of each kind this domain has served: bounces done in the high
  /// 32 bits, pings in the low.
  ///
  /// - Idempotent: it only reads the counts.
  func served() -> Result<Int, RpcError>
}
