/// Measuring: timed batches, statistics, and the lines `make bench` reads.
///
/// Each metric runs `samples` batches of `batch` operations, timing each batch with the
/// TSC, and reports per-operation figures over the batches (min, median, p99) in
/// hundredths of a tick. Under QEMU with `-icount shift=0` a tick is one guest
/// instruction, so the figures are exact and repeat from run to run; otherwise they are
/// wall-clock ticks. Output, one line per metric (scripts/bench.py parses it):
///
///   BENCH name=<metric> iterations=<n> min=<t> median=<t> p99=<t> baseline=<metric>
///   BENCHCHECK name=<metric> expected=<n> actual=<n>
///
/// A check line proves the benchmark did its work (e.g. the callee counted every call);
/// `make test` runs the benchmarks with few iterations and asserts the checks only.
enum Benchmark {
  /// Batches per metric, and operations per batch (`bench=quick` shrinks both).
  nonisolated(unsafe) static var samples = 21
  nonisolated(unsafe) static var batch = 200

  /// Times `body(batch)` `samples` times and prints the per-operation figures.
  static func measure(_ name: StaticString, baseline: StaticString, _ body: (Int) -> Void) {
    body(1)  // warm up: first-touch costs are not what is measured
    var perOperation: [UInt64] = []
    for _ in 0..<samples {
      let start = CPU.timestamp
      body(batch)
      let elapsed = CPU.timestamp &- start
      perOperation.append(elapsed * 100 / UInt64(batch))
    }
    report(name, baseline: baseline, hundredths: perOperation, iterations: samples * batch)
  }

  /// Reports samples taken one operation at a time (for slow operations).
  static func report(_ name: StaticString, baseline: StaticString, ticks: [UInt64]) {
    report(name, baseline: baseline, hundredths: ticks.map { $0 * 100 }, iterations: ticks.count)
  }

  static func check(_ name: StaticString, expected: Int, actual: Int) {
    Console.print("BENCHCHECK name=\(name) expected=\(expected) actual=\(actual)")
  }

  fileprivate static func report(
    _ name: StaticString, baseline: StaticString, hundredths: [UInt64], iterations: Int
  ) {
    let sorted = hundredths.sorted()
    guard !sorted.isEmpty else { return }
    let median = sorted[sorted.count / 2]
    let p99 = sorted[min(sorted.count - 1, (sorted.count * 99) / 100)]
    Console.print(
      "BENCH name=\(name) iterations=\(iterations) min=\(fixed(sorted[0])) median=\(fixed(median)) p99=\(fixed(p99)) baseline=\(baseline)"
    )
  }

  /// Hundredths as "12.34".
  private static func fixed(_ hundredths: UInt64) -> TextLine {
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
  }
}

/// A metric of operations that wait for a device, sampled in one or more rounds (so that
/// two metrics can take turns, each seeing the same conditions of the host) and reported
/// once: `name`, the elapsed ticks per operation (wall clock in tsc mode), and `busyName`,
/// the ticks that were not waiting (under -icount: the instructions the operation ran).
final class WaitingSeries {
  let name: StaticString
  let busyName: StaticString
  let baseline: StaticString
  /// Operations each iteration of the body does (a batch of requests).
  let perIteration: Int
  /// Ticks that are not work: by default the idle thread's halts; a polling loop counts
  /// its own spins.
  let waited: () -> UInt64
  private var elapsed: [UInt64] = []
  private var busy: [UInt64] = []
  private var operations = 0

  /// Samples taken so far.
  var samples: Int { elapsed.count }

  init(
    _ name: StaticString, busy busyName: StaticString, baseline: StaticString,
    perIteration: Int = 1, waited: @escaping () -> UInt64 = { Scheduler.idleTicks }
  ) {
    self.name = name
    self.busyName = busyName
    self.baseline = baseline
    self.perIteration = perIteration
    self.waited = waited
  }

  /// Takes `count` samples of `body`, each about `Benchmark.batch` operations, after one
  /// warm-up iteration.
  func sample(_ count: Int, _ body: (Int) -> Void) {
    body(1)
    let iterations = max(1, Benchmark.batch / perIteration)
    let perSample = UInt64(iterations * perIteration)
    for _ in 0..<count {
      let idle = waited()
      let start = CPU.timestamp
      body(iterations)
      let ticks = CPU.timestamp &- start
      elapsed.append(ticks * 100 / perSample)
      busy.append((ticks &- (waited() &- idle)) * 100 / perSample)
      operations += Int(perSample)
    }
  }

  func report() {
    Benchmark.report(name, baseline: baseline, hundredths: elapsed, iterations: operations)
    Benchmark.report(busyName, baseline: baseline, hundredths: busy, iterations: operations)
  }
}
