/// The load the fault campaign keeps running while it injects faults: block reads and
/// writes with every block verified, and loops of cross-domain calls with every answer
/// checked. (UDP echo traffic comes from a client on the host: scripts/faults.py.)
///
/// Each worker is a kernel thread that runs while `running` is set and counts what it
/// saw: operations verified, errors the callee gave (a crash, a timeout, a status), wrong
/// answers its checks caught, and data found lost or corrupt, which is a failure of the
/// system, not of the callee. `lastVerified` says when each domain last served a
/// verified operation: the campaign's sign that a domain it faulted has recovered.
import SwiftletInterfaces
import SwiftletLib

/// What one worker saw.
struct LoadCounts {
  var verified: UInt64 = 0
  var errors: UInt64 = 0
  /// Wrong answers the worker's checks caught (then retried and found right).
  var caught: UInt64 = 0
  /// Data lost or corrupt for good: an acknowledged write that did not read back.
  var lost: UInt64 = 0
}

enum CampaignLoad {
  /// The disk blocks the campaign writes: far from the ranges the kernel tests use
  /// (BlockTests), inside the 64 MiB test disk.
  static let blocks: Range<UInt64> = 8192..<8448

  nonisolated(unsafe) static var running = false
  nonisolated(unsafe) static var block = LoadCounts()
  nonisolated(unsafe) static var calls = LoadCounts()
  /// Per domain number: the `Clock.nanoseconds` of the last verified operation it served.
  nonisolated(unsafe) static var lastVerified = [UInt64](repeating: 0, count: CallABI.maxDomains)
  /// Per campaign block: the generation last acknowledged, and one a write that failed
  /// may have left instead.
  nonisolated(unsafe) static var generations = [UInt64](repeating: 0, count: 256)
  nonisolated(unsafe) static var maybeGenerations = [UInt64?](repeating: nil, count: 256)
  /// Whether the block worker has a disk.
  nonisolated(unsafe) static var hasDisk = false

  static var caught: UInt64 { block.caught + calls.caught }
  static var errors: UInt64 { block.errors + calls.errors }

  /// Starts the workers, stopped; `running` lets them go.
  static func start(seed: UInt64) {
    _ = Scheduler.spawn("campaign blocks", priority: .low) { blockWorker(seed: seed ^ 0xB10C) }
    _ = Scheduler.spawn("campaign calls", priority: .low) { callWorker(seed: seed ^ 0xCA11) }
  }

  private static func verified(_ name: StaticString) {
    if let domain = DomainManager.lookup("\(name)") {
      lastVerified[domain.id.rawValue] = Clock.nanoseconds
    }
  }

  private static func waitUntilRunning() {
    while !running { Scheduler.sleep(nanoseconds: 10_000_000) }
  }

  // MARK: - Blocks

  private static func blockWorker(seed: UInt64) {
    var random = SeededRandom(seed: seed)
    guard case .success(let device) = BlockDeviceProxy.connect(),
      case .success(let geometry) = device.geometry(), geometry.blockCount >= blocks.upperBound,
      !geometry.readOnly
    else { return }
    hasDisk = true
    var writes = 0
    while true {
      waitUntilRunning()
      let index = random.index(blocks.count)
      let number = blocks.lowerBound + UInt64(index)
      if random.below(2) == 0 {
        write(device, index, number)
        writes += 1
        if writes % 64 == 0, device.flush().error != nil { _ = device.recover() }
      } else {
        read(device, index, number)
      }
    }
  }

  private static func write(_ device: BlockDeviceProxy, _ index: Int, _ number: UInt64) {
    let generation = max(generations[index], maybeGenerations[index] ?? 0) + 1
    guard let request = RRef(BlockRequest(read: number)) else {
      block.errors += 1
      return
    }
    request.update {
      $0.operation = .write
      BlockPattern.fill(&$0.data, block: number, generation: generation)
    }
    if case .success(let done) = device.write(request), done.read({ $0.status }) == .ok {
      generations[index] = generation
      maybeGenerations[index] = nil
      block.verified += 1
      verified("virtio_blk")
      return
    }
    // Not acknowledged: the block holds the old generation or the new one.
    maybeGenerations[index] = generation
    block.errors += 1
    _ = device.recover()
  }

  /// Reads the block and checks it holds what was acknowledged; a wrong answer is read
  /// again, and only one that stays wrong is data lost.
  private static func read(_ device: BlockDeviceProxy, _ index: Int, _ number: UInt64) {
    for attempt in 0..<4 {
      guard let request = RRef(BlockRequest(read: number)) else {
        block.errors += 1
        return
      }
      guard case .success(let done) = device.read(request), done.read({ $0.status }) == .ok else {
        block.errors += 1
        _ = device.recover()
        return
      }
      let generation = done.read { BlockPattern.generation(of: $0.data) }
      let intact = done.read { BlockPattern.problem(in: $0.data, expectedBlock: number) == nil }
      if intact && (generation == generations[index] || generation == maybeGenerations[index]) {
        generations[index] = generation
        maybeGenerations[index] = nil
        block.verified += 1
        verified("virtio_blk")
        return
      }
      if attempt == 0 { block.caught += 1 }
    }
    block.lost += 1
    Log.error("campaign: block \(number) does not read back generation \(generations[index])")
  }

  // MARK: - Calls

  private static func callWorker(seed: UInt64) {
    var random = SeededRandom(seed: seed)
    var total: Int? = nil
    var round = 0
    while true {
      waitUntilRunning()
      round += 1
      countCall(counterRound(&total, amount: 1 + Int(random.below(7))), "counter")
      if case .success(let greeter) = GreeterProxy.connect() {
        countCall(check(greeter.greet(round), { $0 >= 1 }, greeter.recover), "hello")
      }
      if case .success(let crasher) = CrasherProxy.connect() {
        countCall(check(crasher.echo(round), { $0 == round }, crasher.recover), "crasher")
      }
      if case .success(let client) = TestClientProxy.connect() {
        countCall(check(client.greetMany(2), { $0 >= 2 }, client.recover), "client")
      }
      Scheduler.sleep(nanoseconds: 1_000_000)
    }
  }

  enum CallOutcome { case verified, error, caught }

  private static func countCall(_ outcome: CallOutcome, _ name: StaticString) {
    switch outcome {
    case .verified:
      calls.verified += 1
      verified(name)
    case .error: calls.errors += 1
    case .caught: calls.caught += 1
    }
  }

  private static func check(
    _ result: Result<Int, RpcError>, _ right: (Int) -> Bool, _ recover: () -> Bool
  ) -> CallOutcome {
    switch result {
    case .success(let value): return right(value) ? .verified : .caught
    case .failure:
      _ = recover()
      return .error
    }
  }

  /// Adds `amount` to the counter and checks the new total: the old one plus `amount`.
  /// A restart starts the counter at 0, so after an error the total is read afresh.
  private static func counterRound(_ total: inout Int?, amount: Int) -> CallOutcome {
    guard case .success(let counter) = CounterProxy.connect() else { return .error }
    if total == nil {
      guard case .success(let value) = counter.value() else {
        _ = counter.recover()
        return .error
      }
      total = value
    }
    switch counter.increment(by: amount) {
    case .success(let new):
      guard new == total! + amount else {
        total = nil  // read afresh next round
        return .caught
      }
      total = new
      return .verified
    case .failure:
      total = nil
      _ = counter.recover()
      return .error
    }
  }
}
