// The Crasher interface: a domain that fails on request, to test containment.
import SwiftletLib

/// The ways `Crasher.crash` can end.
public enum CrashKind: Int, Equatable, BitwiseCopyable {
  /// A Swift runtime trap: integer overflow (ud2, an invalid-opcode fault).
  case swiftTrap
  /// A write to unmapped memory.
  case pageFault
  /// A use of a non-canonical address.
  case generalProtection
  /// An integer division by zero in the CPU (not Swift's checked division).
  case divideError
  /// Unbounded recursion into the guard page below the stack.
  case stackOverflow
  /// A loop that never ends: only the watchdog stops it.
  case hang
}

/// Errors: `crash` returns `.domainCrashed` (or `.timedOut` for `.hang`) by design;
/// every method can also return `.unavailable` while the domain is down.
public protocol Crasher {
  /// Fails in the way asked; never returns success.
  func crash(_ kind: CrashKind) -> Result<Void, RpcError>

  /// Returns `value`: shows the domain works (again).
  ///
  /// - Idempotent: a second call returns the same value (and only adds to `callsServed`).
  func echo(_ value: Int) -> Result<Int, RpcError>

  /// How many calls this domain has served since it started.
  ///
  /// - Idempotent: it only reads the count.
  func callsServed() -> Result<Int, RpcError>
}
