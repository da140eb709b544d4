/// The scheduler: preemptive round robin within three priorities, on one CPU.
///
/// Rules:
/// - The highest-priority ready thread runs; equal priorities take turns, each for at
///   most `quantumTicks` timer ticks before the tick preempts it.
/// - A thread runs until it blocks (a wait queue, `sleep`, `join`), yields, finishes,
///   or is preempted. Preemption happens only at the end of an interrupt, after the
///   end-of-interrupt, on the interrupted thread's stack (which holds its full state).
/// - Waking a thread of higher priority than the running one preempts at the next
///   chance: at once from thread code, at the end of the interrupt from a handler.
/// - The idle thread runs when nothing else is ready and halts the CPU until an
///   interrupt.
/// - All of this state changes only with interrupts disabled (sched/InterruptLock.swift).

@_extern(c, "context_switch")
private func contextSwitch(_ save: UnsafeMutablePointer<UInt64>, _ load: UInt64)
@_extern(c, "thread_trampoline") private func threadTrampoline()
@_extern(c, "thread_kill_trampoline") private func threadKillTrampoline()

enum Scheduler {
  static let quantumTicks = 10

  nonisolated(unsafe) private(set) static var current: Thread!
  nonisolated(unsafe) private static var idle: Thread!
  nonisolated(unsafe) private static var ready = InlineArray<3, ThreadQueue>(
    repeating: ThreadQueue())
  nonisolated(unsafe) private static var sleepers = ThreadQueue()
  /// Finished threads whose stacks are freed once they are no longer running on them.
  nonisolated(unsafe) private static var finished = ThreadQueue()
  nonisolated(unsafe) private static var all: Thread?
  nonisolated(unsafe) private static var quantumLeft = quantumTicks
  nonisolated(unsafe) private static var rescheduleRequested = false
  nonisolated(unsafe) private(set) static var switches: UInt64 = 0
  nonisolated(unsafe) private(set) static var preemptions: UInt64 = 0

  static var killTrampolineAddress: UInt64 {
    UInt64(
      UInt(
        bitPattern: unsafeBitCast(
          threadKillTrampoline as @convention(c) () -> Void, to: UnsafeRawPointer.self)))
  }

  static var trampolineAddress: UInt64 {
    UInt64(
      UInt(
        bitPattern: unsafeBitCast(
          threadTrampoline as @convention(c) () -> Void, to: UnsafeRawPointer.self)))
  }

  /// Makes the code running now (kmain, on the boot stack) the first thread and starts
  /// the idle thread. Call before enabling interrupts.
  static func start() {
    let boot = Thread(bootThreadNamed: "main")
    current = boot
    link(boot)
    guard let idleThread = Thread(name: "idle", priority: .low, entry: idleLoop) else {
      panic("scheduler: no memory for the idle thread")
    }
    idle = idleThread
    link(idleThread)
    Interrupts.afterInterrupt = preemptIfRequested
  }

  /// Creates a thread that runs `entry` and makes it ready. Nil if out of memory.
  @discardableResult
  static func spawn(
    _ name: String, priority: Thread.Priority = .normal, _ entry: @escaping () -> Void
  ) -> Thread? {
    guard let thread = Thread(name: name, priority: priority, entry: entry) else { return nil }
    withInterruptsDisabled {
      link(thread)
      makeReady(thread)
    }
    yieldIfRequested()
    return thread
  }

  /// Lets another ready thread of the same or higher priority run.
  static func yield() {
    withInterruptsDisabled {
      guard let next = takeNext(atLeast: current.priority) else { return }
      current.state = .ready
      ready[current.priority.rawValue].append(current)
      switchTo(next)
    }
  }

  /// Blocks the running thread for at least `nanoseconds`; it wakes on the first tick
  /// after that.
  static func sleep(nanoseconds: UInt64) {
    withInterruptsDisabled {
      current.wakeTime = Clock.nanoseconds &+ nanoseconds
      current.state = .sleeping
      sleepers.append(current)
      switchToNext()
    }
  }

  /// Waits until `thread` has finished.
  static func join(_ thread: Thread) {
    withInterruptsDisabled {
      while thread.state != .finished { thread.joiners.wait() }
    }
  }

  /// Ends the running thread.
  ///
  /// The last switch away from a finished thread never returns, so nothing on its
  /// stack is ever released: every reference is dropped in `retireCurrent` and
  /// `takeNextContext` before it, and the switch itself gets raw addresses only.
  static func exit() -> Never {
    CPU.disableInterrupts()
    retireCurrent()
    let (save, load) = takeNextContext()
    contextSwitch(save, load)
    panic("scheduler: a finished thread ran again")
  }

  @inline(never)
  private static func retireCurrent() {
    current.state = .finished
    current.entry = nil
    finished.append(current)
    current.joiners.wakeAll()
  }

  /// Makes the best ready thread (or idle) current and returns where to save the old
  /// stack pointer and which one to load, holding no reference once it returns.
  @inline(never)
  private static func takeNextContext() -> (UnsafeMutablePointer<UInt64>, UInt64) {
    let save = current.savedStackPointer
    let next = takeNext(atLeast: .low) ?? idle!
    next.state = .running
    swapDomainState(from: current, to: next)
    current = next
    quantumLeft = quantumTicks
    switches &+= 1
    return (save, next.savedStackPointer.pointee)
  }

  // MARK: - For wait queues and interrupts (interrupts disabled)

  /// Puts the running thread on `queue` and runs another until it is woken.
  static func blockCurrent(on queue: inout ThreadQueue) {
    current.state = .blocked
    queue.append(current)
    switchToNext()
  }

  static func makeReady(_ thread: Thread) {
    thread.state = .ready
    ready[thread.priority.rawValue].append(thread)
    if thread.priority < current.priority || current === idle { rescheduleRequested = true }
  }

  /// The timer tick: wakes sleepers that are due and ends a used-up quantum.
  static func tick() {
    let now = Clock.nanoseconds
    var due = sleepers.removeAll { $0.wakeTime <= now }
    while let thread = due.removeFirst() { makeReady(thread) }
    quantumLeft -= 1
    if quantumLeft <= 0 { rescheduleRequested = true }
  }

  /// Called at the end of every interrupt, after the end-of-interrupt.
  static func preemptIfRequested() {
    guard rescheduleRequested, current != nil else { return }
    rescheduleRequested = false
    guard let next = takeNext(atLeast: current === idle ? .low : current.priority) else {
      quantumLeft = quantumTicks
      return
    }
    preemptions &+= 1
    if current !== idle {
      current.state = .ready
      ready[current.priority.rawValue].append(current)
    }
    switchTo(next)
  }

  /// Every thread, in creation order, for the shell and tests.
  static func forEachThread(_ body: (Thread) -> Void) {
    withInterruptsDisabled {
      var thread = all
      while let each = thread {
        body(each)
        thread = each.nextInAll
      }
    }
  }

  // MARK: - Switching

  private static func yieldIfRequested() {
    withInterruptsDisabled {
      guard rescheduleRequested else { return }
      rescheduleRequested = false
      guard let next = takeNext(atLeast: current.priority) else { return }
      current.state = .ready
      ready[current.priority.rawValue].append(current)
      switchTo(next)
    }
  }

  /// The first ready thread of priority `limit` or better, taken off its queue.
  private static func takeNext(atLeast limit: Thread.Priority) -> Thread? {
    for priority in 0...limit.rawValue {
      if let thread = ready[priority].removeFirst() { return thread }
    }
    return nil
  }

  /// Runs the best ready thread, or the idle thread if none is ready.
  private static func switchToNext() {
    switchTo(takeNext(atLeast: .low) ?? idle)
  }

  private static func switchTo(_ next: Thread) {
    let previous = current!
    quantumLeft = quantumTicks
    guard next !== previous else {
      previous.state = .running
      return
    }
    next.state = .running
    current = next
    switches &+= 1
    swapDomainState(from: previous, to: next)
    contextSwitch(previous.savedStackPointer, next.savedStackPointer.pointee)
    // Running as `previous` again, switched back to by someone.
    reapFinished()
  }

  /// A thread's domain and call continuation go with it (kernel/domains/DomainCall.swift).
  private static func swapDomainState(from previous: Thread, to next: Thread) {
    let domain = DomainCall.currentDomain
    let continuation = DomainCall.currentContinuation
    previous.domain = domain
    previous.continuation = continuation
    // A domain's own thread whose domain crashed (or restarted) since it last ran must
    // not go back into it: it ends instead (DomainManager.swift, "own threads").
    if next.ownerDomain != .kernel, !DomainManager.isAlive(next.ownerDomain, life: next.ownerLife) {
      next.redirectToKill()
    }
    // Most switches are between threads in the kernel with no call in progress.
    if next.domain != domain { DomainCall.currentDomain = next.domain }
    if next.continuation != continuation { DomainCall.currentContinuation = next.continuation }
  }

  /// A new thread's first switch did not return through `switchTo`: reap here.
  static func reapFinishedAfterFirstSwitch() { reapFinished() }

  /// Frees the stacks of finished threads; none of them is running now.
  private static func reapFinished() {
    while let thread = finished.removeFirst() {
      thread.freeStack()
      unlink(thread)
    }
  }

  private static func link(_ thread: Thread) {
    thread.nextInAll = nil
    guard var last = all else {
      all = thread
      return
    }
    while let next = last.nextInAll { last = next }
    last.nextInAll = thread
  }

  private static func unlink(_ thread: Thread) {
    if all === thread {
      all = thread.nextInAll
    } else {
      var previous = all
      while let each = previous, each.nextInAll !== thread { previous = each.nextInAll }
      previous?.nextInAll = thread.nextInAll
    }
    thread.nextInAll = nil
  }

  /// The idle thread: sleep until an interrupt; the interrupt's end switches away if
  /// it made anything ready.
  private static func idleLoop() {
    while true {
      CPU.disableInterrupts()
      CPU.waitForInterrupt()
      CPU.enableInterrupts()
    }
  }
}

/// Where a thread of a crashed domain ends (boot/switch.asm, thread_kill_trampoline).
@_cdecl("thread_killed")
func threadKilled() {
  DomainCall.currentDomain = .kernel
  DomainCall.currentContinuation = 0
  Scheduler.exit()
}

/// Where a new thread starts (from boot/switch.asm), interrupts disabled.
@_cdecl("thread_run")
func threadRun(_ threadPointer: UnsafeMutableRawPointer) {
  Scheduler.reapFinishedAfterFirstSwitch()
  CPU.enableInterrupts()
  runEntry(threadPointer)
  Scheduler.exit()
}

/// Runs the thread's entry; its references are released when this returns, before
/// the thread's final switch (see `Scheduler.exit`).
@inline(never)
private func runEntry(_ threadPointer: UnsafeMutableRawPointer) {
  let thread = Unmanaged<Thread>.fromOpaque(threadPointer).takeUnretainedValue()
  let entry = thread.entry
  entry?()
}
