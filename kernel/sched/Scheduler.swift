/// The scheduler: preemptive round robin within four priorities, on one CPU.
///
/// Rules:
/// - The highest-priority ready thread runs; equal priorities take turns, each for at
///   most `quantumTicks` timer ticks before the tick preempts it.
/// - Domains' own threads run at `domain`, the lowest, so they run only when no kernel
///   thread is ready: a domain cannot starve the kernel's threads (the shell, sleepers)
///   however many threads it spins. Domain code a kernel thread calls into runs at that
///   thread's priority, within its call's time budget.
/// - A thread runs until it blocks (a wait queue, `sleep`, `join`), yields, finishes,
///   or is preempted. Preemption happens only at the end of an interrupt, after the
///   end-of-interrupt, on the interrupted thread's stack (which holds its full state),
///   never from a trap that stayed on the interrupt stack (arch/Interrupts.swift).
/// - Waking a thread of higher priority than the running one preempts at the next
///   chance: at once from thread code, at the end of the interrupt from a handler.
/// - The idle thread runs when nothing else is ready and halts the CPU until an
///   interrupt.
/// - All of this state changes only with interrupts disabled (sched/InterruptLock.swift).

@_extern(c, "context_switch")
private func contextSwitch(_ save: UnsafeMutablePointer<UInt64>, _ load: UnsafePointer<UInt64>)
@_extern(c, "thread_trampoline") private func threadTrampoline()
@_extern(c, "thread_kill_trampoline") private func threadKillTrampoline()

enum Scheduler {
  static let quantumTicks = 10

  /// The running thread. The hot paths use handles only (`ThreadControl`).
  nonisolated(unsafe) private static var running: ThreadHandle?
  nonisolated(unsafe) private static var idle: ThreadHandle?
  nonisolated(unsafe) private static var ready = ReadyQueues()
  nonisolated(unsafe) private static var sleepers = ThreadQueue()
  /// Threads blocked in a wait with a deadline, linked through `timedNext`.
  nonisolated(unsafe) private static var timedWaiters: ThreadHandle?
  /// Finished threads whose stacks are freed once they are no longer running on them.
  nonisolated(unsafe) private static var finished = ThreadQueue()
  nonisolated(unsafe) private static var all: Thread?
  nonisolated(unsafe) private static var quantumLeft = quantumTicks
  nonisolated(unsafe) private static var rescheduleRequested = false
  nonisolated(unsafe) private(set) static var switches: UInt64 = 0
  nonisolated(unsafe) private(set) static var preemptions: UInt64 = 0

  /// The running thread, nil before `start`.
  static var current: Thread? { running?.pointee.thread }

  /// Whether another thread is waiting for the CPU (a preemption is due).
  static var switchWanted: Bool { rescheduleRequested }

  /// The running thread's control block: what boot/domaincall.asm records as a
  /// domain's holder.
  static var currentControl: ThreadHandle? { running }

  /// Wakes `thread` now if it sleeps (its domain died: it has no reason to wait).
  static func wakeIfSleeping(_ thread: ThreadHandle) {
    withInterruptsDisabled {
      guard thread.pointee.state == .sleeping else { return }
      var woken = sleepers.removeAll { $0 == thread }
      while let each = woken.removeFirst() { makeReady(each) }
    }
  }

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
    running = boot.control
    // The call path names a domain's holder by this pointer (boot/domaincall.asm).
    DomainCall.runningStack.pointee = UInt64(UInt(bitPattern: boot.control))
    link(boot)
    guard let idleThread = Thread(name: "idle", priority: .low, entry: idleLoop) else {
      panic("scheduler: no memory for the idle thread")
    }
    idle = idleThread.control
    link(idleThread)
    Interrupts.afterInterrupt = preemptIfRequested
  }

  /// Creates a thread that runs `entry` and makes it ready. Nil if out of memory.
  /// For a domain's own thread, `owner` names the domain and its life, set before the
  /// thread can run.
  @discardableResult
  static func spawn(
    _ name: String, priority: Thread.Priority = .normal,
    owner: (domain: DomainID, life: Int)? = nil, _ entry: @escaping () -> Void
  ) -> Thread? {
    guard let thread = Thread(name: name, priority: priority, owner: owner, entry: entry) else {
      return nil
    }
    withInterruptsDisabled {
      link(thread)
      makeReady(thread.control)
    }
    yieldIfRequested()
    return thread
  }

  /// Lets another ready thread of the same or higher priority run.
  static func yield() {
    withInterruptsDisabled {
      let current = running!
      guard let next = takeNext(atLeast: current.pointee.priority) else { return }
      current.pointee.state = .ready
      ready[current.pointee.priority].append(current)
      switchTo(next)
    }
  }

  /// Blocks the running thread for at least `nanoseconds`; it wakes on the first tick
  /// after that.
  static func sleep(nanoseconds: UInt64) {
    withInterruptsDisabled {
      let current = running!
      current.pointee.wakeTime = Clock.nanoseconds &+ nanoseconds
      current.pointee.state = .sleeping
      sleepers.append(current)
      switchToNext()
      current.pointee.ticksRunSinceWait = 0
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
    let current = running!
    current.pointee.state = .finished
    current.pointee.thread.entry = nil
    finished.append(current)
    current.pointee.thread.joiners.wakeAll()
  }

  /// Makes the best ready thread (or idle) current and returns where to save the old
  /// stack pointer and which one to load, holding no reference once it returns.
  @inline(never)
  private static func takeNextContext() -> (UnsafeMutablePointer<UInt64>, UnsafePointer<UInt64>) {
    let current = running!
    let next = takeNext(atLeast: .domain) ?? idle!
    next.pointee.state = .running
    swapDomainState(from: current, to: next)
    running = next
    quantumLeft = quantumTicks
    switches &+= 1
    return (stackPointerSlot(current), UnsafePointer(stackPointerSlot(next)))
  }

  // MARK: - For wait queues and interrupts (interrupts disabled)

  /// Puts the running thread on `queue` and runs another until it is woken.
  static func blockCurrent(on queue: inout ThreadQueue) {
    let current = running!
    current.pointee.state = .blocked
    queue.append(current)
    switchToNext()
    current.pointee.ticksRunSinceWait = 0
  }

  static func makeReady(_ thread: ThreadHandle) {
    if thread.pointee.timedQueue != nil { endTimedWait(thread) }
    thread.pointee.state = .ready
    ready[thread.pointee.priority].append(thread)
    if thread.pointee.priority < running!.pointee.priority || running == idle {
      rescheduleRequested = true
    }
  }

  /// Puts the running thread on `queue` (the waiters of `owner`) and runs another until
  /// it is woken or `deadline` (in `Clock.nanoseconds`) passes, whichever comes first;
  /// says whether it was woken. The tick takes it out of the queue at the deadline.
  static func blockCurrent(
    on queue: inout ThreadQueue, of owner: WaitQueue, until deadline: UInt64
  ) -> Bool {
    let current = running!
    current.pointee.wakeTime = deadline
    current.pointee.timedOut = false
    current.pointee.timedQueue = Unmanaged.passUnretained(owner)
    current.pointee.timedNext = timedWaiters
    timedWaiters = current
    blockCurrent(on: &queue)
    return !current.pointee.timedOut
  }

  /// Takes `thread` off the list of timed waits.
  private static func endTimedWait(_ thread: ThreadHandle) {
    thread.pointee.timedQueue = nil
    if timedWaiters == thread {
      timedWaiters = thread.pointee.timedNext
    } else {
      var previous = timedWaiters
      while let each = previous, each.pointee.timedNext != thread {
        previous = each.pointee.timedNext
      }
      previous?.pointee.timedNext = thread.pointee.timedNext
    }
    thread.pointee.timedNext = nil
  }

  /// The timer tick: wakes sleepers and timed waits that are due and ends a used-up
  /// quantum.
  static func tick() {
    let now = Clock.nanoseconds
    var due = sleepers.removeAll { $0.pointee.wakeTime <= now }
    while let thread = due.removeFirst() { makeReady(thread) }
    var waiter = timedWaiters
    while let thread = waiter {
      waiter = thread.pointee.timedNext
      guard thread.pointee.wakeTime <= now, let queue = thread.pointee.timedQueue else { continue }
      queue.takeUnretainedValue().remove(thread)
      thread.pointee.timedOut = true
      makeReady(thread)
    }
    quantumLeft -= 1
    if quantumLeft <= 0 { rescheduleRequested = true }
  }

  /// Called at the end of every interrupt, after the end-of-interrupt.
  static func preemptIfRequested() {
    guard rescheduleRequested, let current = running else { return }
    rescheduleRequested = false
    guard let next = takeNext(atLeast: current == idle ? .domain : current.pointee.priority) else {
      quantumLeft = quantumTicks
      return
    }
    preemptions &+= 1
    if current != idle {
      current.pointee.state = .ready
      ready[current.pointee.priority].append(current)
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
      let current = running!
      guard let next = takeNext(atLeast: current.pointee.priority) else { return }
      current.pointee.state = .ready
      ready[current.pointee.priority].append(current)
      switchTo(next)
    }
  }

  /// The first ready thread of priority `limit` or better, taken off its queue.
  private static func takeNext(atLeast limit: Thread.Priority) -> ThreadHandle? {
    if let thread = ready.high.removeFirst() { return thread }
    if limit == .high { return nil }
    if let thread = ready.normal.removeFirst() { return thread }
    if limit == .normal { return nil }
    if let thread = ready.low.removeFirst() { return thread }
    if limit == .low { return nil }
    return ready.domain.removeFirst()
  }

  /// Runs the best ready thread, or the idle thread if none is ready.
  private static func switchToNext() {
    switchTo(takeNext(atLeast: .domain) ?? idle!)
  }

  private static func switchTo(_ next: ThreadHandle) {
    let previous = running!
    quantumLeft = quantumTicks
    guard next != previous else {
      previous.pointee.state = .running
      return
    }
    next.pointee.state = .running
    running = next
    switches &+= 1
    swapDomainState(from: previous, to: next)
    contextSwitch(stackPointerSlot(previous), UnsafePointer(stackPointerSlot(next)))
    // Running as `previous` again, switched back to by someone.
    if !finished.isEmpty { reapFinished() }
  }

  /// Where `context_switch` stores a thread's stack pointer, and loads it and the stack's
  /// bottom from: its control block's first two fields, at a fixed address (see
  /// `ThreadControl.savedStackPointer`).
  @inline(__always)
  private static func stackPointerSlot(_ thread: ThreadHandle) -> UnsafeMutablePointer<UInt64> {
    UnsafeMutableRawPointer(thread).assumingMemoryBound(to: UInt64.self)
  }

  /// A thread's domain and call continuation go with it (kernel/domains/DomainCall.swift).
  @inline(__always)
  private static func swapDomainState(from previous: ThreadHandle, to next: ThreadHandle) {
    let domain = DomainCall.currentDomain
    let continuation = DomainCall.currentContinuation
    previous.pointee.domain = domain
    previous.pointee.continuation = continuation
    // Most switches are between threads in the kernel with no call in progress.
    if next.pointee.domain != domain { DomainCall.currentDomain = next.pointee.domain }
    if next.pointee.continuation != continuation {
      DomainCall.currentContinuation = next.pointee.continuation
    }
  }

  /// A new thread's first switch did not return through `switchTo`: reap here.
  static func reapFinishedAfterFirstSwitch() { reapFinished() }

  /// Frees the stacks of finished threads; none of them is running now.
  @inline(never)
  private static func reapFinished() {
    while let handle = finished.removeFirst() {
      let thread = handle.pointee.thread
      let owner = handle.pointee.ownerDomain
      let life = handle.pointee.ownerLife
      thread.freeStack()
      unlink(thread)
      // Its stack is back: its domain's thread and frame quotas have room again.
      if owner != .kernel { DomainManager.threadReaped(owner, life: life) }
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
      idleSince = CPU.timestamp
      CPU.waitForInterrupt()
      CPU.enableInterrupts()
    }
  }

  /// TSC ticks the CPU has spent halted in the idle thread: what a benchmark subtracts to
  /// count only the instructions it ran (under -icount, a halt warps the TSC forward).
  nonisolated(unsafe) private(set) static var idleTicks: UInt64 = 0
  /// When the idle thread halted, or 0 while the CPU runs.
  nonisolated(unsafe) private static var idleSince: UInt64 = 0

  /// The first thing every interrupt does: a halt, if there was one, ends here.
  @inline(__always)
  static func idleEnds() {
    guard idleSince != 0 else { return }
    idleTicks &+= CPU.timestamp &- idleSince
    idleSince = 0
  }
}

/// The ready queues, one per priority.
struct ReadyQueues {
  var high = ThreadQueue()
  var normal = ThreadQueue()
  var low = ThreadQueue()
  var domain = ThreadQueue()

  subscript(priority: Thread.Priority) -> ThreadQueue {
    get {
      switch priority {
      case .high: high
      case .normal: normal
      case .low: low
      case .domain: domain
      }
    }
    set {
      switch priority {
      case .high: high = newValue
      case .normal: normal = newValue
      case .low: low = newValue
      case .domain: domain = newValue
      }
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
///
/// A domain's own thread runs its kernel part (the entry closure) first, which returns
/// holding the domain and leaving the domain function in its control block; the domain
/// function is called only after that, from here. A crash of the domain ends the thread
/// without returning through the frames below it (thread_killed), so none of them may
/// hold a reference: here none do, and nothing the thread had is leaked.
@_cdecl("thread_run")
func threadRun(_ threadPointer: UnsafeMutableRawPointer) {
  Scheduler.reapFinishedAfterFirstSwitch()
  CPU.enableInterrupts()
  runEntry(threadPointer)
  enterOwnDomain()
  Scheduler.exit()
}

/// Calls the domain function the entry left in the control block, if any, then lets
/// the domain go. Only plain values here (see `threadRun`).
@inline(never)
private func enterOwnDomain() {
  guard let control = Scheduler.currentControl, control.pointee.domainEntry != 0 else { return }
  let function = unsafeBitCast(
    control.pointee.domainEntry, to: (@convention(c) (UInt64) -> Void).self)
  let domain = control.pointee.ownerDomain
  function(control.pointee.domainArgument)
  DomainHolding.release(domain)
  DomainCall.currentDomain = .kernel
}

/// Runs the thread's entry; its references are released when this returns, before
/// the thread's final switch (see `Scheduler.exit`).
@inline(never)
private func runEntry(_ threadPointer: UnsafeMutableRawPointer) {
  let thread = Unmanaged<Thread>.fromOpaque(threadPointer).takeUnretainedValue()
  let entry = thread.entry
  entry?()
}
