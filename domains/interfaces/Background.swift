// The Background interface: a domain's own threads and appetites, to test crashes outside
// any call and the kernel's quotas.
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

  /// Starts up to `count` threads of the domain that spin, never sleeping or yielding,
  /// for `milliseconds`, then end. Returns how many the kernel let it start (its
  /// `threads` quota).
  func startSpinners(_ count: Int, milliseconds: Int) -> Result<Int, RpcError>

  /// Allocates 1 KiB shared-heap buffers and keeps them, until the kernel refuses one
  /// (the domain's `sharedHeapKiB` quota, or the heap's end). Returns how many it holds.
  func hoard() -> Result<Int, RpcError>

  /// Frees every buffer `hoard` kept.
  func dropHoard() -> Result<Void, RpcError>

  /// Writes `count` log lines as fast as it can (the kernel rate-limits them).
  func flood(lines count: Int) -> Result<Void, RpcError>

  /// Waits for the domain's event 0 to be signalled after the call began, for
  /// `milliseconds` at most; says whether it was. The domain is free for other threads
  /// while it waits.
  func waitForSignal(milliseconds: Int) -> Result<Bool, RpcError>

  /// Starts a thread of the domain that signals its event 0 after `milliseconds`.
  func signalLater(milliseconds: Int) -> Result<Void, RpcError>
}
