/// Tests of threads and the scheduler: preemption, sleeping, waiting, priorities, and
/// that threads give back everything they took.
import Memory

@_extern(c, "selftest_sse_survives_preemption") private func selftestSSESurvivesPreemption()
  -> UInt64
@_extern(c, "selftest_clobber_sse") private func selftestClobberSSE()

enum SchedulerTests {
  static var tests: [KernelTest] {
    [
      KernelTest("sched.spawn_join", spawnJoin),
      KernelTest("sched.preempts_a_spinning_thread", preemptsASpinningThread),
      KernelTest("sched.sse_survives_preemption", sseSurvivesPreemption),
      KernelTest("sched.sleep_wakes_within_bounded_ticks", sleepWakesWithinBoundedTicks),
      KernelTest("sched.wait_queue_ping_pong", waitQueuePingPong),
      KernelTest("sched.timed_wait_ends_at_its_deadline", timedWaitEndsAtItsDeadline),
      KernelTest("sched.timed_wait_woken_before_its_deadline", timedWaitWokenBeforeItsDeadline),
      KernelTest("sched.priorities", priorities),
      KernelTest("sched.yield_takes_turns", yieldTakesTurns),
      KernelTest("sched.wait_for_interrupt", waitForInterrupt),
      KernelTest("sched.thousand_threads_leak_nothing", thousandThreadsLeakNothing),
      KernelTest("sched.threads_run_in_the_kernel_domain", threadsRunInTheKernelDomain),
    ]
  }

  static func spawnJoin(_ t: inout TestContext) {
    nonisolated(unsafe) var ran = false
    guard let thread = Scheduler.spawn("worker", { ran = true }) else {
      t.expect(false, "spawn failed")
      return
    }
    Scheduler.join(thread)
    t.expect(ran, "the thread did not run")
    t.expect(thread.state == .finished, "thread not finished after join")
  }

  /// A thread that never yields must not stop others: the tick preempts it.
  static func preemptsASpinningThread(_ t: inout TestContext) {
    nonisolated(unsafe) var stop = false
    nonisolated(unsafe) var spins = 0
    nonisolated(unsafe) var workerRan = false
    let spinner = Scheduler.spawn("spinner") {
      while !stop {
        spins += 1
        CPU.pause()  // an external call: `stop` is read again each time
      }
    }
    let worker = Scheduler.spawn("worker") { workerRan = true }
    guard let spinner, let worker else {
      t.expect(false, "spawn failed")
      return
    }
    let preemptionsBefore = Scheduler.preemptions
    Scheduler.join(worker)
    stop = true
    Scheduler.join(spinner)
    t.expect(workerRan, "the worker never ran")
    t.expect(spins > 0, "the spinner never ran")
    t.expect(Scheduler.preemptions > preemptionsBefore, "no preemption happened")
  }

  /// A thread preempted with live xmm registers gets them back, although the thread
  /// that ran meanwhile overwrote every one of them.
  static func sseSurvivesPreemption(_ t: inout TestContext) {
    nonisolated(unsafe) var stop = false
    let clobberer = Scheduler.spawn("clobber") {
      while !stop { selftestClobberSSE() }
    }
    let result = selftestSSESurvivesPreemption()
    stop = true
    if let clobberer { Scheduler.join(clobberer) }
    t.expect(result != 2, "the other thread never ran: no preemption")
    t.expect(result == 1, "xmm registers changed across a preemption")
  }

  static func sleepWakesWithinBoundedTicks(_ t: inout TestContext) {
    let duration: UInt64 = 5_000_000
    let startTicks = Clock.ticks
    let start = Clock.nanoseconds
    Scheduler.sleep(nanoseconds: duration)
    let slept = Clock.nanoseconds - start
    let ticks = Clock.ticks - startTicks
    t.expect(slept >= duration, "woke after \(slept) ns, asked for \(duration)")
    // Due at 5 ticks; woken by the first tick after that. Two ticks of slack.
    t.expect(ticks <= 5 + 2, "woke after \(ticks) ticks, expected at most 7")
  }

  static func waitQueuePingPong(_ t: inout TestContext) {
    let rounds = 10_000
    let ping = Semaphore()
    let pong = Semaphore()
    nonisolated(unsafe) var returned = 0
    let partner = Scheduler.spawn("pong") {
      for _ in 0..<rounds {
        ping.wait()
        pong.signal()
      }
    }
    guard let partner else {
      t.expect(false, "spawn failed")
      return
    }
    for _ in 0..<rounds {
      ping.signal()
      pong.wait()
      returned += 1
    }
    Scheduler.join(partner)
    t.expect(returned == rounds, "\(returned) of \(rounds) round trips")
  }

  /// Nobody wakes it: the wait ends by itself on the first tick after its deadline,
  /// says so, and leaves the thread in no queue (a later wake-up finds nobody).
  static func timedWaitEndsAtItsDeadline(_ t: inout TestContext) {
    let queue = WaitQueue()
    let event = InterruptEvent()
    let start = Clock.nanoseconds
    let woken = withInterruptsDisabled { queue.wait(until: start + 5_000_000) }
    let waited = Clock.nanoseconds - start
    t.expect(!woken, "the wait says it was woken")
    t.expect(waited >= 5_000_000 && waited < 50_000_000, "it waited \(waited) ns for 5 ms")
    t.expect(queue.isEmpty, "the thread is still in the queue")
    let count = event.wait(after: 0, until: Clock.nanoseconds + 3_000_000)
    t.expect(count == 0, "an event nobody signalled counts \(count)")
  }

  /// Woken before its deadline: the wait says so, and the deadline passing later does
  /// nothing to the thread (it is off the list of timed waits).
  static func timedWaitWokenBeforeItsDeadline(_ t: inout TestContext) {
    let event = InterruptEvent()
    let signaller = Scheduler.spawn("signaller") {
      Scheduler.sleep(nanoseconds: 2_000_000)
      event.signal()
    }
    guard let signaller else {
      t.expect(false, "spawn failed")
      return
    }
    let start = Clock.nanoseconds
    let count = event.wait(after: 0, until: start + 1_000_000_000)
    let waited = Clock.nanoseconds - start
    Scheduler.join(signaller)
    t.expect(count == 1, "the event counts \(count) after one signal")
    t.expect(waited < 500_000_000, "it waited \(waited) ns: the signal did not wake it")
    // The old deadline passes while this thread sleeps: it must stay asleep, not be
    // made ready a second time by a stale timed-wait entry.
    Scheduler.sleep(nanoseconds: 3_000_000)
    let queue = WaitQueue()
    let woken = withInterruptsDisabled { queue.wait(until: Clock.nanoseconds + 2_000_000) }
    t.expect(!woken, "a second wait was cut short")
  }

  /// A higher-priority thread runs as soon as it is ready; a lower one only when the
  /// test thread (normal priority) blocks.
  static func priorities(_ t: inout TestContext) {
    nonisolated(unsafe) var order: [StaticString] = []
    let low = Scheduler.spawn("low", priority: .low) { order.append("low") }
    let high = Scheduler.spawn("high", priority: .high) { order.append("high") }
    order.append("main")
    guard let low, let high else {
      t.expect(false, "spawn failed")
      return
    }
    Scheduler.join(high)
    Scheduler.join(low)
    let names = order.map { $0.withUTF8Buffer { String(decoding: $0, as: UTF8.self) } }
    t.expect(names == ["high", "main", "low"], "ran in order \(names.joined(separator: ","))")
  }

  /// Two threads of equal priority that yield in a loop alternate. Both wait at a gate
  /// first, so neither starts before the other exists.
  static func yieldTakesTurns(_ t: inout TestContext) {
    nonisolated(unsafe) var trace = ""
    let gate = Semaphore()
    func worker(_ mark: String) -> () -> Void {
      {
        gate.wait()
        for _ in 0..<3 {
          trace += mark
          Scheduler.yield()
        }
      }
    }
    let a = Scheduler.spawn("a", worker("a"))
    let b = Scheduler.spawn("b", worker("b"))
    guard let a, let b else {
      t.expect(false, "spawn failed")
      return
    }
    gate.signal()
    gate.signal()
    Scheduler.join(a)
    Scheduler.join(b)
    // Which one passes the gate first depends on history; after that they alternate.
    t.expect(trace == "ababab" || trace == "bababa", "yield order was \(trace)")
  }

  static func waitForInterrupt(_ t: inout TestContext) {
    let event = InterruptEvent()
    Interrupts.register(vector: Interrupts.testVector) { _ in event.signal() }
    nonisolated(unsafe) var woken = false
    let waiter = Scheduler.spawn("waiter", priority: .high) {
      event.wait(after: 0)
      woken = true
    }
    guard let waiter else {
      t.expect(false, "spawn failed")
      return
    }
    t.expect(!woken && waiter.state == .blocked, "the waiter did not block")
    LocalAPIC.sendSelfInterrupt(vector: Interrupts.testVector)
    Scheduler.join(waiter)
    t.expect(woken, "the interrupt did not wake the waiter")
  }

  static func thousandThreadsLeakNothing(_ t: inout TestContext) {
    // Declared first: the closures capture it in a heap box, which is the test's own.
    nonisolated(unsafe) var total = 0
    let heapBefore = KernelHeap.statistics
    let framesBefore = Frames.statistics
    for index in 0..<1000 {
      guard let thread = Scheduler.spawn("short", { total += index }) else {
        t.expect(false, "spawn \(index) failed")
        return
      }
      Scheduler.join(thread)
    }
    let heapAfter = KernelHeap.statistics
    let framesAfter = Frames.statistics
    t.expect(total == 499_500, "threads computed \(total)")
    t.expect(
      heapAfter.bytesInUse == heapBefore.bytesInUse
        && heapAfter.liveAllocations == heapBefore.liveAllocations,
      "heap: \(heapAfter.bytesInUse - heapBefore.bytesInUse) bytes, \(heapAfter.liveAllocations - heapBefore.liveAllocations) allocations not returned"
    )
    // The heap may keep an empty slab per size class for reuse; such pages count in
    // its capacity. Every other frame must be back.
    let framesKept = framesBefore.freeFrames - framesAfter.freeFrames
    let slabGrowth = (heapAfter.capacity - heapBefore.capacity) / Int(Paging.pageSize)
    t.expect(
      framesKept == slabGrowth,
      "\(framesKept) frames not returned, \(slabGrowth) of them held as heap slabs")
    t.expect(
      heapAfter.totalAllocations >= heapBefore.totalAllocations + 1000, "threads did not allocate")
  }

  static func threadsRunInTheKernelDomain(_ t: inout TestContext) {
    nonisolated(unsafe) var domain = DomainID(rawValue: -1)
    if let thread = Scheduler.spawn("domain", { domain = DomainCall.currentDomain }) {
      Scheduler.join(thread)
    }
    t.expect(
      domain == .kernel && DomainCall.currentDomain == .kernel,
      "a thread is not in the kernel domain")
  }
}
