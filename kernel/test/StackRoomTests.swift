/// Traps taken with a thread's stack nearly full: the trap path must never fault there.
///
/// A domain recursing toward its guard page can be interrupted with a few hundred bytes
/// of stack left. Building the trap frame there used to fault; the fault was taken for
/// the domain's, and containing it abandoned the interrupt before its end-of-interrupt,
/// which stopped the tick for good. These tests interrupt a kernel thread at every depth
/// down to its last few hundred bytes (without the room check, that panics the kernel).
enum StackRoomTests {
  static var tests: [KernelTest] {
    [
      KernelTest("trap.stack_bottom_where_context_switch_reads_it", stackBottomField),
      KernelTest("trap.interrupts_deep_in_a_thread_stack", interruptsDeepInAThreadStack),
    ]
  }

  /// boot/switch.asm reads a thread's stack bottom as the second word of its control
  /// block, after the saved stack pointer.
  static func stackBottomField(_ t: inout TestContext) {
    let control = Scheduler.current!.control
    let base = UInt(bitPattern: control)
    let saved = withUnsafeMutablePointer(to: &control.pointee.savedStackPointer) {
      UInt(bitPattern: $0)
    }
    let bottom = withUnsafeMutablePointer(to: &control.pointee.stackBottom) {
      UInt(bitPattern: $0)
    }
    t.expect(saved == base && bottom == base + 8, "fields at +\(saved - base), +\(bottom - base)")
  }

  /// Down to the last few hundred bytes, a self-interrupt and a timer tick are taken
  /// and handled, and afterwards both still arrive: no end-of-interrupt was lost. An
  /// interrupt taken on the interrupt stack does not switch threads, so a thread it
  /// wakes runs only after the deep code has returned.
  static func interruptsDeepInAThreadStack(_ t: inout TestContext) {
    let event = InterruptEvent()
    nonisolated(unsafe) var handled = 0
    Interrupts.register(vector: Interrupts.testVector) { _ in
      handled += 1
      event.signal()
    }
    nonisolated(unsafe) var woken: UInt64 = 0
    nonisolated(unsafe) var stop = false
    let waiter = Scheduler.spawn("deep waiter", priority: .high) {
      while !stop { woken = event.wait(after: woken) }
    }
    nonisolated(unsafe) var report = Report()
    let deep = Scheduler.spawn("deep") {
      let bottom = Scheduler.current!.control.pointee.stackBottom
      for room in stride(from: UInt64(320), to: 2400, by: 16) {
        let reached = descend(above: bottom + room) { depth in
          let wokenBefore = woken
          LocalAPIC.sendSelfInterrupt(vector: Interrupts.testVector)
          // The interrupt stack is for less room than this: the waiter must wait.
          if room < 2048 && woken != wokenBefore { report.switchedDeep += 1 }
          let tick = Clock.ticks
          var spins = 0
          while Clock.ticks == tick && spins < 100_000_000 {
            CPU.pause()
            spins += 1
          }
          if Clock.ticks == tick { report.tickMissed += 1 }
          report.lowest = min(report.lowest, depth - bottom)
        }
        if !reached { report.notReached += 1 }
      }
    }
    guard let waiter, let deep else {
      t.expect(false, "spawn failed")
      return
    }
    Scheduler.join(deep)
    let rounds = (2400 - 320) / 16
    t.expect(report.notReached == 0, "\(report.notReached) depths not reached")
    t.expect(report.lowest < 400, "got no deeper than \(report.lowest) bytes above the bottom")
    t.expect(handled == rounds, "\(handled) of \(rounds) self-interrupts handled")
    t.expect(report.tickMissed == 0, "no tick in \(report.tickMissed) waits deep in the stack")
    t.expect(report.switchedDeep == 0, "\(report.switchedDeep) switches from the interrupt stack")
    let ticks = Clock.ticks
    let deadline = Clock.nanoseconds + 1_000_000_000
    while Clock.ticks - ticks < 2 && Clock.nanoseconds < deadline { Scheduler.yield() }
    t.expect(Clock.ticks - ticks >= 2, "the tick stopped")
    stop = true
    LocalAPIC.sendSelfInterrupt(vector: Interrupts.testVector)
    Scheduler.join(waiter)
    t.expect(woken == event.count, "the waiter saw \(woken) of \(event.count) signals")
  }

  struct Report {
    var notReached = 0
    var tickMissed = 0
    var switchedDeep = 0
    var lowest = UInt64.max
  }

  /// Recurses until a local sits below `limit`, then runs `body` with its address
  /// there. False if the recursion gave up (16 KiB of frames should get anywhere).
  @inline(never)
  static func descend(above limit: UInt64, depth: Int = 0, _ body: (UInt64) -> Void) -> Bool {
    var marker = UInt64(depth)
    let here = withUnsafeMutablePointer(to: &marker) { UInt64(UInt(bitPattern: $0)) }
    if here < limit {
      body(here)
      return true
    }
    guard depth < 4096 else { return false }
    let reached = descend(above: limit, depth: depth + 1, body)
    keep(&marker)
    return reached
  }

  /// Keeps `marker` alive across the recursive call, so the recursion stays recursion.
  @inline(never)
  static func keep(_ marker: inout UInt64) { marker &+= 1 }
}
