/// Mutual exclusion on one CPU: run code with interrupts disabled.
///
/// The rule: code that touches state an interrupt handler or another thread also
/// touches (scheduler queues, wait queues, the heap) runs with interrupts disabled,
/// via `withInterruptsDisabled` or a `SpinLock`. Such code must be short and must not
/// block, sleep, yield or wait for another thread; it may allocate, because the heap
/// takes the same precaution. Interrupt handlers run this way already.

/// Runs `body` with interrupts disabled, then restores the previous state.
@inline(__always)
func withInterruptsDisabled<T>(_ body: () -> T) -> T {
  let wasEnabled = CPU.interruptsEnabled
  CPU.disableInterrupts()
  defer { if wasEnabled { CPU.enableInterrupts() } }
  return body()
}

/// A lock for state shared with interrupt handlers: disables interrupts while held.
///
/// With one CPU a held lock can only be taken again by the code holding it, which
/// would deadlock; that is reported as a panic instead. The flag is the place where
/// a spinning acquire goes when there is more than one CPU.
final class SpinLock {
  private var held = false
  private let name: StaticString

  init(_ name: StaticString) { self.name = name }

  func withLock<T>(_ body: () -> T) -> T {
    withInterruptsDisabled {
      if held { panic("lock '\(name)' taken again by its holder: deadlock") }
      held = true
      defer { held = false }
      return body()
    }
  }
}
