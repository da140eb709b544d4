/// A counter that a domain's threads and the calls into it may share.
///
/// Domain threads take `@Sendable` bodies (DomainThread), so they cannot share the
/// service's plain fields; this is the Sendable way to share a number with them. Its
/// operations are atomic (Synchronization's Atomic), and wrap on overflow.
import Synchronization

public final class SharedCounter: Sendable {
  private let count: Atomic<Int>

  public init(_ value: Int = 0) { count = Atomic(value) }

  public var value: Int { count.load(ordering: .acquiring) }

  /// Adds `amount`; returns the new value.
  @discardableResult
  public func add(_ amount: Int) -> Int {
    count.wrappingAdd(amount, ordering: .acquiringAndReleasing).newValue
  }

  public func set(_ value: Int) { count.store(value, ordering: .releasing) }
}
