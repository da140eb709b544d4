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

  /// Lower raw value runs first; equal priorities take turns.
  enum Priority: Int, Comparable, CaseIterable {
    case high = 0
    case normal, low

    static func < (left: Priority, right: Priority) -> Bool { left.rawValue < right.rawValue }
  }

  static let stackSize = 16 * 1024
  /// The stack and the guard page below it.
  static let stackFrameCount = 1 + stackSize / 4096
  nonisolated(unsafe) private static var nextID = 0

  let id: Int
  let name: String
  let priority: Priority
  var state: State
  /// While switched out: the domain it was running in and its innermost call's
  /// continuation (kernel/domains/DomainCall.swift keeps the running thread's).
  var domain = DomainID.kernel
  var continuation: UInt64 = 0
  /// For a domain's own thread: its domain, and which life of it (restarts so far)
  /// the thread belongs to. The thread must not outlive that life.
  var ownerDomain = DomainID.kernel
  var ownerLife = 0
  /// The watchdog's view: which call it is timing, and since when.
  var watchedCall: UInt64 = 0
  var watchedSince: UInt64 = 0
  /// The saved stack pointer lives at a fixed address because `context_switch` writes
  /// it after the switch has left this thread; a class property passed inout might be
  /// a temporary written back only when the thread runs again.
  let savedStackPointer: UnsafeMutablePointer<UInt64>
  /// The stack's frames (guard page first), nil for the boot thread.
  let stackFrames: PhysicalFrame?
  var entry: (() -> Void)?
  /// When a sleeping thread is due, in `Clock.nanoseconds`.
  var wakeTime: UInt64 = 0
  /// Threads waiting in `join` for this one to finish.
  let joiners = WaitQueue()
  /// The link of whichever queue the thread is in: a ready queue, a wait queue or the
  /// sleepers. A thread is in at most one. Unowned, so queue operations (on every
  /// switch) do no reference counting: a thread is kept alive by the list of all
  /// threads (`nextInAll`) until it is reaped, and a reaped thread is in no queue.
  unowned(unsafe) var next: Thread?
  /// The link of the list of all threads.
  var nextInAll: Thread?

  /// The thread that is already running: the boot code on the boot stack.
  init(bootThreadNamed name: String) {
    id = Thread.takeID()
    self.name = name
    priority = .normal
    state = .running
    savedStackPointer = .allocate(capacity: 1)
    stackFrames = nil
  }

  /// A new thread that will run `entry` once the scheduler switches to it.
  init?(name: String, priority: Priority, entry: @escaping () -> Void) {
    guard let stack = Frames.allocateContiguous(count: Thread.stackFrameCount) else { return nil }
    id = Thread.takeID()
    self.name = name
    self.priority = priority
    self.entry = entry
    state = .ready
    stackFrames = stack
    savedStackPointer = .allocate(capacity: 1)
    let bottom = stack.address + Paging.pageSize
    GuardPages.add(below: bottom, owner: "thread '\(name)'")
    savedStackPointer.pointee = buildFirstFrame(top: bottom + UInt64(Thread.stackSize))
  }

  deinit {
    savedStackPointer.deallocate()
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

  /// Makes the thread, when next switched to, end instead of resuming: its saved
  /// return address (boot/switch.asm's frame) now leads to thread_kill_trampoline.
  func redirectToKill() {
    let frame = UnsafeMutablePointer<UInt64>(bitPattern: UInt(savedStackPointer.pointee))!
    frame[7] = Scheduler.killTrampolineAddress
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

/// A first-in first-out queue of threads, linked through `Thread.next`. It does not
/// keep its threads alive (see `Thread.next`).
struct ThreadQueue {
  unowned(unsafe) private(set) var head: Thread?
  unowned(unsafe) private var tail: Thread?

  var isEmpty: Bool { head == nil }

  mutating func append(_ thread: Thread) {
    thread.next = nil
    if let tail { tail.next = thread } else { head = thread }
    tail = thread
  }

  mutating func removeFirst() -> Thread? {
    guard let first = head else { return nil }
    head = first.next
    if head == nil { tail = nil }
    first.next = nil
    return first
  }

  /// Removes and returns every thread for which `shouldRemove` is true, in order.
  mutating func removeAll(where shouldRemove: (Thread) -> Bool) -> ThreadQueue {
    var kept = ThreadQueue()
    var removed = ThreadQueue()
    while let thread = removeFirst() {
      if shouldRemove(thread) { removed.append(thread) } else { kept.append(thread) }
    }
    self = kept
    return removed
  }
}
