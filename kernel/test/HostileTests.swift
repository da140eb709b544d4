/// The hostile suite's run-time half: the kernel calls the hostile domain
/// (tests/hostile/hostile), which attacks from inside the rules, and checks that each
/// attack is contained (docs/SECURITY.md has the classes).
///
/// Contained means: the kernel lives (a panic would end the boot), a kernel canary and
/// every other domain's state are untouched, the hostile domain is crashed (where its
/// attack is a fault) and what it held is reclaimed. Each test ends with those checks.
/// The block tests run against the pattern disk (scripts/qemu.sh --disk, --suite
/// hostile), so a driver corrupted by an attack would show as a wrong block.
import Memory
import SwiftletInterfaces
import SwiftletLib

enum HostileTests {
  static var tests: [KernelTest] {
    [
      KernelTest("hostile.reentrant_crash_unwinds_every_frame", reentrantCrash),
      KernelTest("hostile.squeezed_stack_never_faults_in_the_kernel", squeezedStack),
      KernelTest("hostile.shared_heap_quota_holds", sharedHeapQuota),
      KernelTest("hostile.thread_quota_holds", threadQuota),
      KernelTest("hostile.spinning_threads_do_not_starve_the_kernel", spinningThreads),
      KernelTest("hostile.two_threads_never_run_one_domain", twoThreadsOneDomain),
      KernelTest("hostile.driver_survives_a_hammering_caller_that_dies", hammeringCaller),
      KernelTest("hostile.result_moved_to_a_dead_caller_is_freed", resultToDeadCaller),
      KernelTest("hostile.sleeping_callee_is_timed", sleepingCallee),
      KernelTest("hostile.nested_calls_do_not_reset_the_budget", nestedCallsBudget),
      KernelTest("hostile.log_flood_is_rate_limited", logFlood),
    ]
  }

  // MARK: - The attacks

  /// Class 4: hostile -> relay -> hostile, and the inner call traps. The kernel's call
  /// must come back `.domainCrashed` (the outer hostile frame never runs again: it would
  /// return 7), and relay, whose frame sat between the two, finishes its call.
  static func reentrantCrash(_ t: inout TestContext) {
    guard let (hostile, domain) = connect(&t), let relay = relay(&t) else { return }
    let bounces = relayServed(relay).bounces
    let crashes = domain.crashes
    let outcome = hostile.reenterAndTrap()
    t.expect(outcome.error == .domainCrashed, "the outer call came back \(describe(outcome))")
    t.expect(domain.crashes == crashes + 1, "crashed \(domain.crashes - crashes) times")
    t.expect(
      relayServed(relay).bounces == bounces + 1, "relay's bounce did not finish its call")
    checkContained(domain, &t)
  }

  /// Class 5: recursion to every depth the caller's stack allows, each ending in a
  /// kernel call (an allocation). Kernel code never runs short of stack: the domain
  /// either gets its answer or crashes cleanly (the boot would end in a panic if a
  /// fault came inside the kernel).
  static func squeezedStack(_ t: inout TestContext) {
    guard let (hostile, domain) = connect(&t) else { return }
    var answered = 0
    var crashed = 0
    let exhaustions = domain.stackExhaustions
    for depth in 0...800 where crashed < 24 {
      switch hostile.squeeze(depth: depth) {
      case .success: answered += 1
      case .failure(.domainCrashed):
        crashed += 1
        _ = DomainManager.restart(domain)  // at once: its crashes come quicker than its backoff
      case .failure(let error):
        t.expect(false, "depth \(depth): \(error.status)")
        return
      }
    }
    t.expect(answered > 0 && crashed > 0, "\(answered) answered, \(crashed) crashed")
    t.expect(
      domain.stackExhaustions > exhaustions, "no crash came from the kernel's stack check")
    checkContained(domain, &t)
  }

  /// Class 6: the domain takes shared-heap buffers until refused. It gets no more than
  /// its quota, the kernel can still allocate, and its crash gives everything back.
  static func sharedHeapQuota(_ t: inout TestContext) {
    guard let (hostile, domain) = connect(&t) else { return }
    guard case .success(let bytes) = hostile.hoardSharedHeap() else {
      t.expect(false, "hoarding failed")
      return
    }
    let quota = domain.manifest.sharedHeapKiB * 1024
    t.expect(bytes > 0 && bytes <= quota, "hoarded \(bytes) bytes, quota \(quota)")
    let owned = SharedMemory.statistics(for: SharedMemory.owner(domain.id)).bytes
    t.expect(owned <= quota + 4096, "the registry says it owns \(owned) bytes")
    t.expect(RRef(Page(repeating: 1)) != nil, "the kernel cannot allocate any more")
    crash(hostile, domain, &t)
    let left = SharedMemory.statistics(for: SharedMemory.owner(domain.id)).bytes
    t.expect(left == 0, "\(left) bytes still owned after its crash")
    checkContained(domain, &t)
  }

  /// Class 6: the domain spawns threads until refused: no more than its quota, and
  /// its crash ends them and gives their stacks back.
  static func threadQuota(_ t: inout TestContext) {
    guard let (hostile, domain) = connect(&t) else { return }
    let frames = Frames.statistics.freeFrames
    guard case .success(let count) = hostile.spawnThreads() else {
      t.expect(false, "spawning failed")
      return
    }
    t.expect(
      count > 0 && count <= domain.manifest.threads,
      "\(count) threads, quota \(domain.manifest.threads)")
    crash(hostile, domain, &t)
    waitForThreads(of: domain, &t)
    Scheduler.sleep(nanoseconds: 5_000_000)  // finished threads' stacks are reaped
    t.expect(
      Frames.statistics.freeFrames + 8 >= frames,
      "frames \(frames) -> \(Frames.statistics.freeFrames)")
    checkContained(domain, &t)
  }

  /// Class 6: spinning domain threads cannot delay the kernel's own: ten 1 ms sleeps
  /// take about 10 ms with them spinning (10 s before threads of domains ran below the
  /// kernel's). The bound is generous: this checks starvation, not speed.
  static func spinningThreads(_ t: inout TestContext) {
    guard let (hostile, domain) = connect(&t) else { return }
    guard case .success(let count) = hostile.spinThreads(count: 64), count > 0 else {
      t.expect(false, "no spinning threads")
      return
    }
    let start = Clock.nanoseconds
    for _ in 0..<10 { Scheduler.sleep(nanoseconds: 1_000_000) }
    let elapsed = (Clock.nanoseconds - start) / 1_000_000
    t.expect(elapsed < 200, "ten 1 ms sleeps took \(elapsed) ms beside \(count) spinners")
    crash(hostile, domain, &t)
    waitForThreads(of: domain, &t)
    checkContained(domain, &t)
  }

  /// Class 9: two threads call the same domain at once, many times, and each call
  /// reads a total, works, and writes it back. Entry is serialized, so no update is
  /// lost to the other thread (preemption in the middle of a call would lose some).
  static func twoThreadsOneDomain(_ t: inout TestContext) {
    guard let relay = relay(&t), case .success(let before) = relay.slowAdd() else {
      t.expect(false, "no Relay")
      return
    }
    let rounds = 400
    let done = Semaphore()
    for _ in 0..<2 {
      Scheduler.spawn("adder") {
        for _ in 0..<rounds { _ = relay.slowAdd() }
        done.signal()
      }
    }
    done.wait()
    done.wait()
    let after = (try? relay.slowAdd().get()) ?? -1
    t.expect(after == before + 2 * rounds + 1, "\(after - before - 1) of \(2 * rounds) updates")
  }

  /// Classes 9 and 10: two hostile threads hammer the block driver with batches while
  /// the kernel reads and checks blocks, each caller served in its turn (neither the
  /// hammering nor the kernel's higher priority shuts the others out); then the hostile
  /// domain dies with its threads inside the driver. The driver finishes their calls (it
  /// is not cut short), every block the kernel reads is right, and nothing the batches
  /// held is left behind.
  static func hammeringCaller(_ t: inout TestContext) {
    guard let (hostile, domain) = connect(&t), let driver = DomainManager.lookup("virtio_blk"),
      case .success(let disk) = BlockDeviceProxy.connect(),
      case .success(let geometry) = disk.geometry(), geometry.blockCount > 0
    else {
      t.expect(false, "no hostile domain or no disk (boot with --disk and --suite hostile)")
      return
    }
    let driverCrashes = driver.crashes
    let baseline = SharedMemory.totals
    let callsBefore = driver.calls
    guard case .success(let started) = hostile.hammerBlockDevice(), started == 2 else {
      t.expect(false, "the hammering threads did not start")
      return
    }
    var state: UInt64 = 12345
    for _ in 0..<600 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let block = (state >> 33) % geometry.blockCount
      guard readAndCheck(disk, block, &t) else { return }
    }
    let hostileCalls = Int(driver.calls - callsBefore) - 600
    Log.info("hostile: the hammering threads made \(hostileCalls) driver calls beside 600 reads")
    // The turn at the disk goes round (DeviceTurn), so each hostile thread's batch is
    // served about once for each of the kernel's reads; handed to whoever came back
    // first, it went to the kernel's thread, which outranks theirs (11 to 343 calls).
    t.expect(hostileCalls >= 600, "the hostile threads made only \(hostileCalls) driver calls")
    crash(hostile, domain, &t)
    waitForThreads(of: domain, &t)
    t.expect(driver.crashes == driverCrashes, "the driver crashed")
    for block in stride(from: UInt64(0), to: min(geometry.blockCount, 512), by: 7) {
      guard readAndCheck(disk, block, &t) else { return }
    }
    let after = SharedMemory.totals
    t.expect(
      after.allocations <= baseline.allocations,
      "\(after.allocations - baseline.allocations) shared allocations left behind")
    checkContained(domain, &t)
  }

  /// Class 10: the hostile domain dies while its thread waits in relay for a moved
  /// result. Relay finishes and moves the result back; the thread unwinds past the dead
  /// frames, and the result, which nobody will adopt, is freed, not left in transit.
  static func resultToDeadCaller(_ t: inout TestContext) {
    guard let (hostile, domain) = connect(&t), let relay = DomainManager.lookup("relay") else {
      t.expect(false, "no relay domain")
      return
    }
    t.expect(hostile.fetchSlowValues().isSuccess, "the fetching thread did not start")
    Scheduler.sleep(nanoseconds: 50_000_000)
    crash(hostile, domain, &t)
    waitForThreads(of: domain, &t)
    Scheduler.sleep(nanoseconds: 50_000_000)  // relay's call in progress ends
    let held = SharedMemory.statistics(for: SharedMemory.owner(relay.id))
    t.expect(held.allocations == 0, "relay still holds \(held.allocations) shared allocations")
    t.expect(relay.state == .running, "relay did not come through")
    checkContained(domain, &t)
  }

  /// Class 11: a callee that sleeps is timed like one that runs: 3 s of 1 ms sleeps
  /// against a 100 ms budget end near the budget, not after 3 s.
  static func sleepingCallee(_ t: inout TestContext) {
    guard let (hostile, domain) = connect(&t) else { return }
    let start = Clock.nanoseconds
    let outcome = hostile.sleepPastBudget(milliseconds: 3000)
    let elapsed = (Clock.nanoseconds - start) / 1_000_000
    t.expect(outcome.error == .timedOut, "came back \(describe(outcome))")
    t.expect(elapsed < 1000, "ended after \(elapsed) ms against a 100 ms budget")
    checkContained(domain, &t)
  }

  /// Class 11: short nested calls do not restart the clock: work with a call to relay
  /// every 100 us is ended near the 100 ms budget.
  static func nestedCallsBudget(_ t: inout TestContext) {
    guard let (hostile, domain) = connect(&t), let relay = relay(&t) else { return }
    let pings = relayServed(relay).pings
    let start = Clock.nanoseconds
    let outcome = hostile.workBetweenNestedCalls(milliseconds: 3000)
    let elapsed = (Clock.nanoseconds - start) / 1_000_000
    t.expect(outcome.error == .timedOut, "came back \(describe(outcome))")
    t.expect(elapsed < 1000, "ended after \(elapsed) ms against a 100 ms budget")
    t.expect(relayServed(relay).pings > pings, "no nested calls were made")
    checkContained(domain, &t)
  }

  /// Class 11: a domain cannot flood the console: of 2,000 lines, the log shows a few
  /// and counts the rest.
  static func logFlood(_ t: inout TestContext) {
    guard let (hostile, domain) = connect(&t) else { return }
    let dropped = domain.logLimit.dropped
    t.expect(hostile.flood(lines: 2000).isSuccess, "the flood call failed")
    let shown = 2000 - (domain.logLimit.dropped - dropped)
    t.expect(shown > 0 && shown < 100, "\(shown) of 2000 lines reached the console")
    checkContained(domain, &t)
  }

  // MARK: - Helpers

  private static func connect(_ t: inout TestContext) -> (HostileProxy, Domain)? {
    guard case .success(let hostile) = HostileProxy.connect(),
      let domain = DomainManager.lookup("hostile")
    else {
      t.expect(false, "no hostile domain (boot with scripts/qemu.sh --suite hostile)")
      return nil
    }
    if domain.state != .running { _ = DomainManager.restart(domain) }
    Bystanders.prepare()
    return (hostile, domain)
  }

  private static func relay(_ t: inout TestContext) -> RelayProxy? {
    guard case .success(let relay) = RelayProxy.connect() else {
      t.expect(false, "no relay domain")
      return nil
    }
    return relay
  }

  private static func relayServed(_ relay: RelayProxy) -> (bounces: Int, pings: Int) {
    let word = (try? relay.served().get()) ?? -1
    return (word >> 32, word & 0xFFFF_FFFF)
  }

  /// Crashes the hostile domain with a trap of its own and checks it crashed. (A domain
  /// its own spinning threads hog never lets the call in: the watchdog ends it instead,
  /// the wait to enter being timed like the call.)
  private static func crash(_ hostile: HostileProxy, _ domain: Domain, _ t: inout TestContext) {
    let crashes = domain.crashes
    let error = hostile.trap().error
    t.expect(error == .domainCrashed || error == .timedOut, "the trap did not crash it")
    t.expect(domain.crashes == crashes + 1, "not counted as a crash")
  }

  private static func waitForThreads(of domain: Domain, _ t: inout TestContext) {
    let deadline = Clock.nanoseconds + 2_000_000_000
    var left = 0
    repeat {
      left = 0
      Scheduler.forEachThread {
        if $0.ownerDomain == domain.id && $0.state != .finished { left += 1 }
      }
      if left > 0 { Scheduler.sleep(nanoseconds: 1_000_000) }
    } while left > 0 && Clock.nanoseconds < deadline
    t.expect(left == 0, "\(left) threads of the crashed domain still run")
  }

  /// The last checks of every test: the hostile domain holds nothing while it is down,
  /// and the kernel and the other domains are as they were.
  private static func checkContained(_ domain: Domain, _ t: inout TestContext) {
    if domain.state != .running {
      let owned = SharedMemory.statistics(for: SharedMemory.owner(domain.id))
      t.expect(owned.allocations == 0, "the dead domain owns \(owned.allocations) allocations")
    }
    Bystanders.check(&t)
  }

  private static func readAndCheck(
    _ disk: BlockDeviceProxy, _ block: UInt64, _ t: inout TestContext
  ) -> Bool {
    guard let request = RRef(BlockRequest(read: block)),
      case .success(let done) = disk.read(request)
    else { return t.expect(false, "read of block \(block) failed") }
    let reply = done.value
    guard t.expect(reply.status == .ok, "block \(block): status \(reply.status.rawValue)") else {
      return false
    }
    if let problem = BlockPattern.problem(in: reply.data, expectedBlock: block) {
      return t.expect(false, "block \(block): \(problem)")
    }
    return true
  }

  private static func describe<Value>(_ outcome: Result<Value, RpcError>) -> TextLine {
    switch outcome {
    case .success: "success"
    case .failure(let error): "error status \(error.status)"
    }
  }
}

/// A 4 KiB value, as the hostile domain hoards them.
typealias Page = InlineArray<4096, UInt8>

/// What must come through every attack untouched: a canary in kernel memory, and the
/// state of the well-behaved domains.
enum Bystanders {
  private static let canaryWords = 512
  nonisolated(unsafe) private static var canary: [UInt64] = []
  nonisolated(unsafe) static var counterValue = -1

  private static func pattern(_ index: Int) -> UInt64 {
    0x5157_4946_544C_4554 ^ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
  }

  static func prepare() {
    if canary.isEmpty { canary = (0..<canaryWords).map(pattern) }
    if counterValue < 0, case .success(let counter) = CounterProxy.connect(),
      case .success(let value) = counter.increment(by: 41)
    {
      counterValue = value
    }
  }

  static func check(_ t: inout TestContext) {
    let damaged = (0..<canaryWords).filter { canary[$0] != pattern($0) }.count
    t.expect(damaged == 0, "\(damaged) words of the kernel canary changed")
    if case .success(let counter) = CounterProxy.connect() {
      let value = (try? counter.value().get()) ?? -1
      t.expect(value == counterValue, "the counter says \(value), not \(counterValue)")
    }
    if case .success(let hello) = GreeterProxy.connect() {
      t.expect(hello.ping().isSuccess, "hello does not answer")
    }
    for name in ["hello", "counter", "client", "relay", "virtio_blk"] {
      if let domain = DomainManager.lookup(name) {
        t.expect(domain.state == .running, "'\(name)' is not running")
      }
    }
  }
}
