// The Counter interface: a stateful service whose state a restart loses.
import SwiftletLib

/// A stateful service (domains/counter): its state is lost when it restarts.
///
/// Errors: every method can return `.domainCrashed`, `.timedOut` or `.unavailable`.
public protocol Counter {
  /// Adds `amount` and returns the new value.
  func increment(by amount: Int) -> Result<Int, RpcError>

  /// The current value: 0 after a (re)start.
  ///
  /// - Idempotent: it only reads the value.
  func value() -> Result<Int, RpcError>
}
