// The Hostile interface: a domain written to attack, one method per way out of its box.
import SwiftletLib

/// What the hostile domain (tests/hostile/hostile) does when the kernel's hostile tests
/// call it (kernel/test/HostileTests.swift). Each method is an attack docs/SECURITY.md
/// names by its class; the tests check that it is contained.
///
/// Errors: any method may end in `.domainCrashed` or `.timedOut`; that is the point.
public protocol Hostile {
  /// Class 4: calls `Relay.bounce`, which calls back into this domain's `trap`; the
  /// inner call traps, and the outer frame in this domain must never run again.
  func reenterAndTrap() -> Result<Int, RpcError>

  /// Traps (a Swift integer overflow): the inner half of `reenterAndTrap`.
  func trap() -> Result<Void, RpcError>

  /// Class 5: recurses `depth` frames, then makes the kernel allocate for it, so that
  /// kernel code runs wherever the stack ends up.
  func squeeze(depth: Int) -> Result<Int, RpcError>

  /// Class 6: allocates 4 KiB shared-heap buffers until refused and keeps them all;
  /// returns how many bytes it holds.
  func hoardSharedHeap() -> Result<Int, RpcError>

  /// Class 6: spawns threads that sleep forever until refused; returns how many.
  func spawnThreads() -> Result<Int, RpcError>

  /// Class 6: spawns `count` threads that spin forever; returns how many it got.
  func spinThreads(count: Int) -> Result<Int, RpcError>

  /// Classes 9 and 10: starts two threads of its own that submit batches of reads to
  /// the block device in a loop, as fast as they can; returns how many started.
  func hammerBlockDevice() -> Result<Int, RpcError>

  /// Class 10: starts a thread of its own that asks Relay for slow values in a loop, so
  /// that it is almost always inside Relay, waiting for a result moved back to it.
  func fetchSlowValues() -> Result<Void, RpcError>

  /// Class 11: sleeps `milliseconds` in 1 ms sleeps, far past its budget.
  func sleepPastBudget(milliseconds: Int) -> Result<Void, RpcError>

  /// Class 11: works for `milliseconds` with a short call to Relay every 100 us, so
  /// no tick ever finds it running for long without a nested call in between.
  func workBetweenNestedCalls(milliseconds: Int) -> Result<Int, RpcError>

  /// Class 11: writes `lines` log lines as fast as it can.
  func flood(lines: Int) -> Result<Void, RpcError>
}
