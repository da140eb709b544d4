// The Background interface: a domain's own threads, to test crashes outside any call.
import SwiftletLib

/// Errors: every method can return `.domainCrashed`, `.timedOut` or `.unavailable`.
public protocol Background {
  /// Starts a thread of the domain that loops forever (sleeping between rounds).
  /// Returns how many of its threads are running.
  func startLooper() -> Result<Int, RpcError>

  /// Starts a thread of the domain that traps after `milliseconds`, outside any call:
  /// the domain crashes and all its threads end, but this call has returned already.
  func trapInThread(after milliseconds: Int) -> Result<Void, RpcError>

  /// How many rounds the domain's loopers have made.
  func rounds() -> Result<Int, RpcError>
}
