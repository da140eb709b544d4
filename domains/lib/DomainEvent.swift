/// Events a domain's own threads wait for and signal, such as "a datagram arrived".

/// One of the domain's events (kernel/domains/DomainEvents.swift): a count that `signal`
/// raises, waking every thread of the domain waiting for it. A thread waits for the
/// count to move past the one it saw last, so a signal that comes between looking at
/// the state and waiting is not lost:
///
///     var seen = event.count
///     while queue.isEmpty { seen = event.wait(after: seen, timeoutNanoseconds: ...) }
///
/// While a thread waits, the domain is given back, as during a sleep: other threads
/// (the one that will signal, say) run in it meanwhile. A domain names only its own
/// events; if it crashes, its waiting threads wake and unwind.
public struct DomainEvent: BitwiseCopyable, Sendable {
  /// How many events a domain has.
  public static let capacity = 64

  public let number: Int

  /// Event `number` of this domain, nil unless 0 ..< `capacity`.
  public init?(number: Int) {
    guard number >= 0 && number < Self.capacity else { return nil }
    self.number = number
  }

  /// Raises the count by one and wakes every waiter.
  public func signal() { _ = kernelEventSignal(number) }

  /// The count now.
  public var count: UInt64 { UInt64(clamping: max(0, kernelEventWait(number, UInt64.max, 0))) }

  /// Waits until the count is not `seen`, or `timeoutNanoseconds` have passed; returns
  /// the count then (`seen` if the time ran out).
  public func wait(after seen: UInt64, timeoutNanoseconds: UInt64) -> UInt64 {
    let count = kernelEventWait(number, seen, timeoutNanoseconds)
    return count < 0 ? seen : UInt64(count)
  }
}
