// The Counter interface: a stateful service whose state a restart loses.
import SwiftletLib

/// A number to add, in the shared heap: a batch of them crosses as an RRefDeque.
public struct Tally: Equatable, BitwiseCopyable {
  public var amount: Int
  /// The counter's value after adding this tally, as the callee wrote it.
  public var total: Int
  /// The owner the callee saw in the kernel's registry during the call.
  public var ownerSeen: UInt32

  public init(amount: Int) {
    self.amount = amount
    total = 0
    ownerSeen = 0
  }
}

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

  /// Adds the tallies of `batch` in order, writes each one's running total and the owner
  /// it saw into it, and gives the batch back in the same order. A total that overflows
  /// is a Swift trap: the counter crashes.
  ///
  /// Ownership: the batch and every tally in it belong to the counter during the call
  /// and to the caller after it; if the counter crashes, they are freed with it.
  func addBatch(_ batch: consuming RRefDeque<Tally, 8>) -> Result<RRefDeque<Tally, 8>, RpcError>

  /// The sum of a lent array of amounts (the counter keeps nothing of it).
  ///
  /// - Idempotent: it only reads the array.
  func sum(of amounts: borrowing RRefArray<Int, 8>) -> Result<Int, RpcError>
}
