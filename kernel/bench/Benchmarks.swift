/// The benchmarks `bench` on the command line runs: the costs of isolation beside
/// same-boot baselines (docs/BENCHMARKS.md says what each measures).
import ELF
import Memory
import SwiftletInterfaces
import SwiftletLib

@_extern(c, "cpu_pause") private func cpuPauseForBench()

/// Something to call through a protocol inside one domain (here: the kernel).
protocol Pingable: AnyObject {
  func ping()
}

final class PingTarget: Pingable {
  var pings = 0
  func ping() { pings &+= 1 }
}

/// A second conformance, so the optimizer cannot assume which one a call reaches.
final class OtherPingTarget: Pingable {
  var pings = 0
  func ping() { pings &+= 2 }
}

enum Benchmarks {
  nonisolated(unsafe) static var sink = 0
  nonisolated(unsafe) static var indirect: () -> Void = directCallee

  @inline(never)
  static func directCallee() { sink &+= 1 }

  /// Hides which conformance the protocol benchmark calls.
  @inline(never)
  static func pingTarget(_ which: Int) -> any Pingable {
    which == 0 ? PingTarget() : OtherPingTarget()
  }

  /// Runs every benchmark and leaves QEMU. `quick` runs few iterations (for tests).
  static func run(quick: Bool) -> Never {
    if quick {
      Benchmark.samples = 3
      Benchmark.batch = 10
    }
    Console.print("BENCH begin samples=\(Benchmark.samples) batch=\(Benchmark.batch)")
    imageSizes()
    baselines()
    crossDomainCalls()
    sharedHeap()
    threads()
    interrupts()
    domainLifecycle(samples: quick ? 3 : 21)
    BlockBenchmarks.run()
    Console.print("BENCH end")
    Machine.exit(.success)
  }

  /// Each domain's image: its file (the boot module) and the bytes it takes loaded (its
  /// span, whole pages; its pristine copy takes as many again). From the images, so the
  /// domains the benchmarks destroyed (the network stack) are there too.
  static func imageSizes() {
    for domain in DomainManager.domains {
      let loaded = (try? ELFImage(bytes: domain.image))?.span ?? 0
      Console.print("BENCHIMAGE name=\(domain.name) file=\(domain.image.count) loaded=\(loaded)")
    }
  }

  static func baselines() {
    Benchmark.measure("loop.empty", baseline: "loop.empty") { n in
      for i in 0..<n { sink &+= i }
    }
    Benchmark.measure("call.direct", baseline: "loop.empty") { n in
      for _ in 0..<n { directCallee() }
    }
    Benchmark.measure("call.indirect", baseline: "loop.empty") { n in
      let function = indirect
      for _ in 0..<n { function() }
    }
    let target = pingTarget(sink & 0)
    Benchmark.measure("call.protocol", baseline: "loop.empty") { n in
      for _ in 0..<n { target.ping() }
    }
  }

  static func crossDomainCalls() {
    guard case .success(let greeter) = GreeterProxy.connect(),
      case .success(let mailbox) = MailboxProxy.connect(),
      let hello = DomainManager.lookup("hello"), let crasher = DomainManager.lookup("crasher")
    else {
      Console.print("BENCH error: the demo domains are not running")
      return
    }
    let calls = hello.calls
    Benchmark.measure("domain.null_call", baseline: "call.protocol") { n in
      for _ in 0..<n { _ = greeter.ping() }
    }
    Benchmark.check(
      "domain.null_call", expected: 1 + Benchmark.samples * Benchmark.batch,
      actual: Int(hello.calls - calls))

    guard let letter = RRef(Letter(number: 0)) else { return }
    var moving: RRef<Letter>? = consume letter
    let served = crasher.calls
    Benchmark.measure("domain.call_moving_rref", baseline: "domain.null_call") { n in
      for _ in 0..<n {
        guard let outgoing = moving.take(), case .success(let back) = mailbox.bounce(outgoing)
        else {
          return
        }
        moving = consume back
      }
    }
    Benchmark.check(
      "domain.call_moving_rref", expected: 1 + Benchmark.samples * Benchmark.batch,
      actual: Int(crasher.calls - served))
    Benchmark.check(
      "domain.call_moving_rref.owner_after", expected: 0, actual: Int(moving?.owner ?? 99))

    guard let lent = RRef(Letter(number: 0)) else { return }
    let borrowedCalls = crasher.calls
    Benchmark.measure("domain.call_borrowing_rref", baseline: "domain.null_call") { n in
      for _ in 0..<n { _ = mailbox.inspect(lent) }
    }
    Benchmark.check(
      "domain.call_borrowing_rref", expected: 1 + Benchmark.samples * Benchmark.batch,
      actual: Int(crasher.calls - borrowedCalls))
    Benchmark.check(
      "domain.call_borrowing_rref.borrows_after", expected: 0, actual: Int(lent.borrows))
  }

  static func sharedHeap() {
    let before = SharedMemory.totals
    Benchmark.measure("rref.allocate_free", baseline: "call.direct") { n in
      for i in 0..<n { if let letter = RRef(Letter(number: i)) { sink &+= letter.value.number } }
    }
    Benchmark.check(
      "rref.allocate_free.leaked", expected: 0,
      actual: SharedMemory.totals.allocations - before.allocations)
    guard let deque = RRefDeque<Letter, 4>(), let element = RRef(Letter(number: 0)) else { return }
    var held: RRef<Letter>? = consume element
    var pops = 0
    Benchmark.measure("rref.deque_push_pop", baseline: "call.direct") { n in
      for _ in 0..<n {
        guard let item = held.take() else { return }
        _ = deque.pushBack(item)
        held = deque.popFront()
        pops += 1
      }
    }
    Benchmark.check(
      "rref.deque_push_pop", expected: 1 + Benchmark.samples * Benchmark.batch, actual: pops)
  }

  static func threads() {
    // Two threads of equal priority yield to each other, so every yield switches to the
    // other thread. An operation is one yield, by either thread, as in the published
    // figures: a batch of n is n/2 yields here and n/2 answering yields by the partner.
    nonisolated(unsafe) var partnerYields = 0
    nonisolated(unsafe) var stop = false
    let partner = Scheduler.spawn("bench yield") {
      while !stop {
        partnerYields += 1
        Scheduler.yield()
      }
    }
    Scheduler.yield()  // the partner is running its loop from here on
    var ownYields = 0
    let switchesBefore = Scheduler.switches
    let partnerYieldsBefore = partnerYields
    Benchmark.measure("thread.yield", baseline: "call.direct") { n in
      for _ in 0..<(n + 1) / 2 {
        Scheduler.yield()
        ownYields += 1
      }
    }
    let yields = ownYields + partnerYields - partnerYieldsBefore
    let switches = Int(Scheduler.switches - switchesBefore)
    stop = true
    if let partner { Scheduler.join(partner) }
    // Each yield was answered by the partner's, and each one switched threads (a timer
    // preemption can only add switches).
    Benchmark.check("thread.yield.answered", expected: ownYields, actual: yields - ownYields)
    Benchmark.check(
      "thread.yield.switched", expected: 1, actual: switches >= yields ? 1 : 0)

    let ping = Semaphore()
    let pong = Semaphore()
    nonisolated(unsafe) var answered = 0
    let total = 1 + Benchmark.samples * Benchmark.batch
    let responder = Scheduler.spawn("bench pong") {
      for _ in 0..<total {
        ping.wait()
        answered += 1
        pong.signal()
      }
    }
    Benchmark.measure("thread.ping_pong_round_trip", baseline: "thread.yield") { n in
      for _ in 0..<n {
        ping.signal()
        pong.wait()
      }
    }
    if let responder { Scheduler.join(responder) }
    Benchmark.check("thread.ping_pong_round_trip", expected: total, actual: answered)
  }

  static func interrupts() {
    nonisolated(unsafe) var taken = 0
    Interrupts.register(vector: Interrupts.testVector) { _ in taken += 1 }
    Benchmark.measure("interrupt.self_ipi_round_trip", baseline: "call.direct") { n in
      for _ in 0..<n { LocalAPIC.sendSelfInterrupt(vector: Interrupts.testVector) }
    }
    Benchmark.check(
      "interrupt.self_ipi_round_trip", expected: 1 + Benchmark.samples * Benchmark.batch,
      actual: taken)
  }

  /// Slow operations, timed one at a time.
  static func domainLifecycle(samples: Int) {
    guard case .success(let crasher) = CrasherProxy.connect(),
      let domain = DomainManager.lookup("crasher")
    else { return }
    var crashTicks: [UInt64] = []
    var restartTicks: [UInt64] = []
    let crashesBefore = domain.crashes
    for _ in 0..<samples {
      let start = CPU.timestamp
      let result = crasher.crash(.swiftTrap)
      crashTicks.append(CPU.timestamp &- start)
      if result.error != .domainCrashed { break }
      // The kernel's restart: the crashes come one right after another, and a caller's
      // `recover()` would wait out their backoff (RestartBackoff).
      let restart = CPU.timestamp
      _ = DomainManager.restart(domain)
      restartTicks.append(CPU.timestamp &- restart)
    }
    Benchmark.report("domain.crash_to_error", baseline: "domain.null_call", ticks: crashTicks)
    Benchmark.check(
      "domain.crash_to_error", expected: samples, actual: domain.crashes - crashesBefore)
    Benchmark.report("domain.restart", baseline: "domain.null_call", ticks: restartTicks)
    Benchmark.check(
      "domain.restart", expected: samples,
      actual: crasher.echo(1) == .success(1) ? restartTicks.count : -1)

    var loadTicks: [UInt64] = []
    for _ in 0..<samples {
      let start = CPU.timestamp
      guard let image = try? DomainLoader.load(domain.image) else { break }
      loadTicks.append(CPU.timestamp &- start)
      DomainLoader.unload(image)
    }
    Benchmark.report("domain.load_image", baseline: "domain.null_call", ticks: loadTicks)
    Benchmark.check("domain.load_image", expected: samples, actual: loadTicks.count)
  }
}
