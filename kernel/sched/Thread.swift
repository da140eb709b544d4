/// A kernel thread: a stack with a guard page below it, a state, and a priority.
import Memory

///
/// A thread that is not running keeps its registers on its own stack, where
/// boot/switch.asm's `context_switch` left them; `savedStackPointer` says where. A new
/// thread's stack is built to look like it was switched away from just before
/// `thread_trampoline`, so the first switch to it starts it.

/// Which domain code belongs to: 0 is the kernel, domains count from 1.
struct DomainID: Equatable {
  let rawValue: Int
  static let kernel = DomainID(rawValue: 0)
}

final class Thread {
  enum State: Equatable { case ready, running, blocked, sleeping, finished }

  /// Lower raw value runs first; equal priorities take turns. Kernel threads run at
  /// `high`, `normal` or `low`; a domain's own threads always at `domain`, below every
  /// kernel thread, so that no number of them spinning can hold a kernel thread off.
  enum Priority: Int, Comparable, CaseIterable {
    case high = 0
    case normal, low, domain

    static func < (left: Priority, right: Priority) -> Bool { left.rawValue < right.rawValue }
  }

  static let stackSize = 16 * 1024
  /// The stack and the guard page below it.
  static let stackFrameCount = 1 + stackSize / 4096
  nonisolated(unsafe) private static var nextID = 0

  let id: Int
  let name: String
  /// What the scheduler reads and writes on every switch (see `ThreadControl`).
  let control: ThreadHandle
  /// The stack's frames (guard page first), nil for the boot thread.
  let stackFrames: PhysicalFrame?
  var entry: (() -> Void)?
  /// Threads waiting in `join` for this one to finish.
  let joiners = WaitQueue()
  /// The link of the list of all threads, which keeps every thread alive until it is
  /// reaped (`Scheduler.reapFinished`).
  var nextInAll: Thread?

  var priority: Priority { control.pointee.priority }
  var state: State {
    get { control.pointee.state }
    set { control.pointee.state = newValue }
  }
  /// While switched out: the domain it was running in and its innermost call's
  /// continuation (kernel/domains/DomainCall.swift keeps the running thread's).
  var domain: DomainID { control.pointee.domain }
  /// For a domain's own thread: its domain, and which life of it (restarts so far)
  /// the thread belongs to. The thread must not outlive that life.
  var ownerDomain: DomainID {
    get { control.pointee.ownerDomain }
    set { control.pointee.ownerDomain = newValue }
  }
  var ownerLife: Int {
    get { control.pointee.ownerLife }
    set { control.pointee.ownerLife = newValue }
  }
  /// The watchdog's view: which call it is timing, and since when.

  /// The thread that is already running: the boot code on the boot stack.
  init(bootThreadNamed name: String) {
    id = Thread.takeID()
    self.name = name
    control = .allocate(capacity: 1)
    stackFrames = nil
    control.initialize(to: ThreadControl(owner: self, priority: .normal, state: .running))
    control.pointee.stackBottom = LinkerAddress.bootStackBottom.value
  }

  /// A new thread that will run `entry` once the scheduler switches to it; a domain's own
  /// thread if `owner` names one (and that life of it).
  init?(
    name: String, priority: Priority, owner: (domain: DomainID, life: Int)? = nil,
    entry: @escaping () -> Void
  ) {
    guard let stack = Frames.allocateContiguous(count: Thread.stackFrameCount) else { return nil }
    id = Thread.takeID()
    self.name = name
    self.entry = entry
    stackFrames = stack
    control = .allocate(capacity: 1)
    control.initialize(to: ThreadControl(owner: self, priority: priority, state: .ready))
    if let owner {
      control.pointee.ownerDomain = owner.domain
      control.pointee.ownerLife = owner.life
    }
    let bottom = stack.address + Paging.pageSize
    GuardPages.add(below: bottom, owner: "thread '\(name)'")
    control.pointee.stackBottom = bottom
    control.pointee.savedStackPointer = buildFirstFrame(top: bottom + UInt64(Thread.stackSize))
  }

  deinit {
    control.deinitialize(count: 1)
    control.deallocate()
  }

  /// Gives back the stack. Only for a finished thread that is no longer running on it.
  func freeStack() {
    guard let stack = stackFrames else { return }
    GuardPages.remove(below: stack.address + Paging.pageSize)
    Frames.free(stack, count: Thread.stackFrameCount)
  }

  /// The top of the stack (nil for the boot thread).
  var stackTop: UInt64? {
    stackFrames.map { $0.address + Paging.pageSize + UInt64(Thread.stackSize) }
  }

  /// The frame `context_switch` pops when it first switches here (boot/switch.asm).
  private func buildFirstFrame(top: UInt64) -> UInt64 {
    let frame = UnsafeMutablePointer<UInt64>(bitPattern: UInt(top - 64))!
    let defaultMXCSR: UInt64 = 0x1F80  // all SSE exceptions masked, round to nearest
    let defaultX87Control: UInt64 = 0x037F
    frame[0] = defaultMXCSR | defaultX87Control << 32
    frame[1] = 0  // r15
    frame[2] = 0  // r14
    frame[3] = 0  // r13
    frame[4] = UInt64(UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()))  // r12
    frame[5] = 0  // rbx
    frame[6] = 0  // rbp
    frame[7] = Scheduler.trampolineAddress  // return address
    return top - 64
  }

  private static func takeID() -> Int {
    nextID += 1
    return nextID - 1
  }
}

/// The part of a thread the scheduler touches on every switch, kept outside the
/// reference-counted `Thread` object so that queueing, dequeuing and switching do no
/// reference counting at all: the scheduler passes `ThreadHandle`s, plain pointers.
///
/// A control block lives exactly as long as its `Thread`, which the list of all threads
/// keeps alive until the thread is reaped; a reaped thread is in no queue, so no
/// handle outlives its block.
struct ThreadControl {
  /// Where `context_switch` saved the stack pointer while the thread is switched out.
  /// It is written after the switch has left this thread, so it must be a fixed
  /// address: a field of this block, never a temporary.
  var savedStackPointer: UInt64 = 0
  /// The lowest address of the thread's stack, just above its guard page: second, for
  /// `context_switch`, which hands it to the trap path (boot/traps.asm says why).
  var stackBottom: UInt64 = 0
  /// Non-zero while the thread must not go back into its current domain, which died
  /// while the thread was switched out or inside the kernel: the status its unwinding
  /// gives the caller (SwiftletLib's CallStatus). Third, for boot/domaincall.asm and
  /// boot/sysinterface.asm, which read it (scripts/callabi.py has the layout).
  var unwindStatus: UInt64 = 0
  /// The link of whichever queue the thread is in: a ready queue, a wait queue or the
  /// sleepers. A thread is in at most one.
  var next: ThreadHandle?
  var state: Thread.State
  let priority: Thread.Priority
  var domain = DomainID.kernel
  var continuation: UInt64 = 0
  var ownerDomain = DomainID.kernel
  var ownerLife = 0
  /// The domain the thread waits to enter (the kernel: none), and since which tick:
  /// the watchdog times the wait as part of the call (DomainHolding).
  var entering = DomainID.kernel
  var enteringSince: UInt64 = 0
  /// Ticks in a row that found the thread in domain code too deep in its stack to be
  /// preempted, with another thread waiting (DomainManager.unpreemptibleTick).
  var unpreemptibleTicks = 0
  /// When a sleeping thread is due, in `Clock.nanoseconds`; also the deadline of a
  /// timed wait.
  var wakeTime: UInt64 = 0
  /// During a wait with a deadline (`WaitQueue.wait(until:)`): the queue the thread
  /// waits in, for the tick to take it out of when the deadline passes, and its link
  /// in the scheduler's list of timed waits (a second list besides the queue's).
  var timedQueue: Unmanaged<WaitQueue>?
  var timedNext: ThreadHandle?
  /// Whether the last timed wait ended by its deadline rather than by a wake-up.
  var timedOut = false
  /// Ticks the thread has been running at since it last came back from a sleep or a
  /// wait (or started): the watchdog ends a domain whose own thread runs longer than its
  /// budget without waiting (DomainManager.watchdogTick). Ticks it spent ready but not
  /// running, while threads of higher priority had the CPU, are not its doing and do
  /// not count.
  var ticksRunSinceWait: UInt64 = 0
  /// A domain's own thread: the domain function (a C address) and argument it enters
  /// once its kernel part has returned (`threadRun`), 0 for none.
  var domainEntry: UInt64 = 0
  var domainArgument: UInt64 = 0
  /// The thread this block belongs to (not retained: the thread owns the block).
  let owner: Unmanaged<Thread>

  init(owner: Thread, priority: Thread.Priority, state: Thread.State) {
    self.owner = Unmanaged.passUnretained(owner)
    self.priority = priority
    self.state = state
  }

  var thread: Thread { owner.takeUnretainedValue() }
}

typealias ThreadHandle = UnsafeMutablePointer<ThreadControl>

/// A first-in first-out queue of threads, linked through `ThreadControl.next`.
struct ThreadQueue {
  private(set) var head: ThreadHandle?
  private var tail: ThreadHandle?

  var isEmpty: Bool { head == nil }

  mutating func append(_ thread: ThreadHandle) {
    thread.pointee.next = nil
    if let tail { tail.pointee.next = thread } else { head = thread }
    tail = thread
  }

  mutating func removeFirst() -> ThreadHandle? {
    guard let first = head else { return nil }
    head = first.pointee.next
    if head == nil { tail = nil }
    first.pointee.next = nil
    return first
  }

  /// Removes and returns every thread for which `shouldRemove` is true, in order.
  mutating func removeAll(where shouldRemove: (ThreadHandle) -> Bool) -> ThreadQueue {
    var kept = ThreadQueue()
    var removed = ThreadQueue()
    while let thread = removeFirst() {
      if shouldRemove(thread) { removed.append(thread) } else { kept.append(thread) }
    }
    self = kept
    return removed
  }
}
