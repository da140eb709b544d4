// The Greeter interface: a greeting service, the simplest call across domains.
import SwiftletLib

/// A greeting service (domains/hello): the simplest thing to call across domains.
///
/// Errors: every method can return `.domainCrashed`, `.timedOut` or `.unavailable`
/// (see RpcError); none returns `.failed`.
public protocol Greeter {
  /// Does nothing: the null call the benchmarks measure.
  ///
  /// - Idempotent: it does nothing, so a second call is the same as the first.
  func ping() -> Result<Void, RpcError>

  /// Greets caller `caller`; returns how many greetings this domain has given since it
  /// started, this one included.
  func greet(_ caller: Int) -> Result<Int, RpcError>
}
