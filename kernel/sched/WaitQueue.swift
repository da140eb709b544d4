/// Threads waiting for something: the building block of every blocking wait.
///
/// `wait` must be called with interrupts disabled, after checking the condition it
/// waits for under the same disabled section, so no wake-up can slip in between the
/// check and the block. It returns, interrupts still disabled, once another thread
/// or an interrupt handler has called `wakeOne` or `wakeAll`.
final class WaitQueue {
  private var waiters = ThreadQueue()

  var isEmpty: Bool { waiters.isEmpty }

  func wait() {
    Scheduler.blockCurrent(on: &waiters)
  }

  /// `wait`, ending at `deadline` (in `Clock.nanoseconds`) if nobody wakes the thread
  /// before; says whether it was woken.
  func wait(until deadline: UInt64) -> Bool {
    Scheduler.blockCurrent(on: &waiters, of: self, until: deadline)
  }

  /// Takes `thread` out of the queue (its wait's deadline passed).
  func remove(_ thread: ThreadHandle) {
    _ = waiters.removeAll { $0 == thread }
  }

  func wakeOne() {
    _ = wakeFirst()
  }

  /// Wakes the thread that has waited longest and says which it was (nil if none):
  /// for handing something over to it directly.
  @discardableResult
  func wakeFirst() -> ThreadHandle? {
    withInterruptsDisabled {
      guard let thread = waiters.removeFirst() else { return nil }
      Scheduler.makeReady(thread)
      return thread
    }
  }

  func wakeAll() {
    withInterruptsDisabled {
      while let thread = waiters.removeFirst() { Scheduler.makeReady(thread) }
    }
  }
}

/// A counting semaphore: `signal` adds one, `wait` takes one or blocks until it can.
/// Signalling from an interrupt handler is allowed; waiting is not.
final class Semaphore {
  private var count: Int
  private let waiters = WaitQueue()

  init(_ count: Int = 0) { self.count = count }

  func signal() {
    withInterruptsDisabled {
      count += 1
      waiters.wakeOne()
    }
  }

  func wait() {
    withInterruptsDisabled {
      while count == 0 { waiters.wait() }
      count -= 1
    }
  }
}

/// Something an interrupt handler announces and threads wait for, such as a device
/// finishing a request. Each `signal` counts; `wait(after:)` returns once the count
/// has moved past what the caller saw last.
final class InterruptEvent {
  private(set) var count: UInt64 = 0
  private let waiters = WaitQueue()

  func signal() {
    withInterruptsDisabled {
      count &+= 1
      waiters.wakeAll()
    }
  }

  @discardableResult
  func wait(after seen: UInt64) -> UInt64 {
    withInterruptsDisabled {
      while count == seen { waiters.wait() }
      return count
    }
  }

  /// `wait(after:)`, giving up at `deadline` (in `Clock.nanoseconds`): then the count
  /// may still be `seen`.
  func wait(after seen: UInt64, until deadline: UInt64) -> UInt64 {
    withInterruptsDisabled {
      while count == seen && Clock.nanoseconds < deadline {
        if !waiters.wait(until: deadline) { break }
      }
      return count
    }
  }
}
