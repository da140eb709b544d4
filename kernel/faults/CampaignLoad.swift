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
  static let workerPriority = Thread.Priority.domain
  nonisolated(unsafe) static var block = LoadCounts()
  nonisolated(unsafe) static var calls = LoadCounts()
  /// Per domain number: the `Clock.nanoseconds` of the last verified operation it served.
  nonisolated(unsafe) static var lastVerified = [UInt64](repeating: 0, count: CallABI.maxDomains)
  /// Per domain number: the errors it gave and the wrong answers caught from it; a
  /// change is a check's sign that a fault in it showed.
  nonisolated(unsafe) static var signals = [UInt64](repeating: 0, count: CallABI.maxDomains)
  /// Per campaign block: the generation last acknowledged, and one a write that failed
  /// may have left instead.
  nonisolated(unsafe) static var generations = [UInt64](repeating: 0, count: 256)
  nonisolated(unsafe) static var maybeGenerations = [UInt64?](repeating: nil, count: 256)
  /// Whether the block worker has a disk.
  nonisolated(unsafe) static var hasDisk = false

  /// Starts the workers, stopped; `running` lets them go. Each demo service has a
  /// worker of its own, so that a fault in one (an endless loop takes a whole call
  /// budget) does not hold up the checks of the others. They run at the domains'
  /// priority, as applications would: above it, calling without pause, they kept the
  /// CPU from the domains' own threads (the stack's, the echo's) for seconds, and a
  /// driver restarted from such a thread overran its init budget waiting for the CPU.
  static func start(seed: UInt64) {
    _ = Scheduler.spawn("campaign blocks", priority: workerPriority) {
      blockWorker(seed: seed ^ 0xB10C)
    }
    _ = Scheduler.spawn("campaign counter", priority: workerPriority) {
      counterWorker(seed: seed ^ 0xCA11)
    }
    _ = Scheduler.spawn("campaign hello", priority: workerPriority) {
      callWorker("hello") { round in
        guard case .success(let greeter) = GreeterProxy.connect() else { return .error }
        return check(greeter.greet(round), { $0 >= 1 }, greeter.recover)
      }
    }
    _ = Scheduler.spawn("campaign crasher", priority: workerPriority) {
      callWorker("crasher") { round in
        guard case .success(let crasher) = CrasherProxy.connect() else { return .error }
        return check(crasher.echo(round), { $0 == round }, crasher.recover)
      }
    }
    _ = Scheduler.spawn("campaign client", priority: workerPriority) {
      callWorker("client") { _ in
        guard case .success(let client) = TestClientProxy.connect() else { return .error }
        return check(client.greetMany(2), { $0 >= 2 }, client.recover)
      }
    }
  }

  /// Counts an operation `name` served: verified, or a sign of a fault in it.
  private static func count(
    _ outcome: CallOutcome, _ name: StaticString, _ counts: inout LoadCounts
  ) {
    let domain = DomainManager.lookup("\(name)")?.id.rawValue
    switch outcome {
    case .verified:
      counts.verified += 1
      if let domain { lastVerified[domain] = Clock.nanoseconds }
    case .error:
      counts.errors += 1
      if let domain { signals[domain] &+= 1 }
    case .caught:
      counts.caught += 1
      if let domain { signals[domain] &+= 1 }
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
      switch random.below(4) {
      case 0, 1:
        write(device, index, number)
        writes += 1
        if writes % 64 == 0, device.flush().error != nil { _ = device.recover() }
      case 2: read(device, index, number)
      default:
        // Confirmed here, after the batch's frame is gone: a kernel thread's stack holds
        // only a few 4 KiB blocks.
        for index in batch(device, &random) {
          confirm(device, index, blocks.lowerBound + UInt64(index))
        }
      }
    }
  }

  /// Whether block `index` may hold `generation`: the one last acknowledged, or one a
  /// write not acknowledged since may have left (each write takes the next number, so
  /// every number in between was written).
  private static func acceptable(_ generation: UInt64, _ index: Int) -> Bool {
    generation >= generations[index]
      && generation <= max(generations[index], maybeGenerations[index] ?? 0)
  }

  /// A write of generation `generation` to block `index` was acknowledged.
  private static func acknowledged(_ generation: UInt64, _ index: Int) {
    generations[index] = generation
    maybeGenerations[index] = nil
  }

  /// Reads and writes of 2 to 8 different blocks, submitted to the driver at once (its
  /// batch path and checkpoint); every read is checked like a single one. The blocks
  /// whose writes were acknowledged, for the caller to `confirm`.
  private static func batch(_ device: BlockDeviceProxy, _ random: inout SeededRandom) -> [Int] {
    var indices: [Int] = []
    let size = 2 + random.index(7)
    while indices.count < size {
      let index = random.index(blocks.count)
      if !indices.contains(index) { indices.append(index) }
    }
    guard let batch = RRefDeque<BlockRequest, 32>() else {
      block.errors += 1
      return []
    }
    var written: [UInt64?] = []
    for index in indices {
      let number = blocks.lowerBound + UInt64(index)
      guard let request = RRef(BlockRequest(read: number)) else {
        block.errors += 1
        return []
      }
      var generation: UInt64? = nil
      if random.below(2) == 0 {
        let next = max(generations[index], maybeGenerations[index] ?? 0) + 1
        request.update {
          $0.operation = .write
          BlockPattern.fill(&$0.data, block: number, generation: next)
        }
        // Possibly on the disk from now on, acknowledged or not.
        maybeGenerations[index] = next
        generation = next
      }
      written.append(generation)
      _ = batch.pushBack(request)
    }
    guard case .success(let done) = device.submit(batch) else {
      count(.error, "virtio_blk", &block)
      _ = device.recover()
      return []
    }
    var acknowledgedWrites: [Int] = []
    for (position, index) in indices.enumerated() {
      let number = blocks.lowerBound + UInt64(index)
      guard let request = done.popFront(),
        request.read({ $0.status == .ok && $0.block == number })
      else {
        count(.error, "virtio_blk", &block)
        continue
      }
      if let generation = written[position] {
        acknowledged(generation, index)
        acknowledgedWrites.append(index)
      } else if let generation = intactGeneration(request, number), acceptable(generation, index) {
        acknowledged(generation, index)
        count(.verified, "virtio_blk", &block)
      } else {
        count(.caught, "virtio_blk", &block)
        read(device, index, number)
      }
    }
    return acknowledgedWrites
  }

  /// The generation a block read holds, nil if it is not a whole campaign block.
  private static func intactGeneration(_ request: borrowing RRef<BlockRequest>, _ number: UInt64)
    -> UInt64?
  {
    request.read {
      BlockPattern.problem(in: $0.data, expectedBlock: number) == nil
        ? BlockPattern.generation(of: $0.data) : nil
    }
  }

  /// Writes the next generation of block `index` and reads it back (`confirm`).
  private static func write(_ device: BlockDeviceProxy, _ index: Int, _ number: UInt64) {
    if writeOnce(device, index, number) { confirm(device, index, number) }
  }

  /// Reads back a block whose write was just acknowledged. A driver may acknowledge a
  /// write that put wrong data on the disk (a wrong result, which no crash shows): as a
  /// careful file system would, the worker checks, and writes the block again when it
  /// does not hold what was written. Only a block that stays wrong is data lost.
  private static func confirm(_ device: BlockDeviceProxy, _ index: Int, _ number: UInt64) {
    var wrong = false  // whether the last read found the block wrong
    for attempt in 0..<4 {
      switch readsBack(device, index, number) {
      case nil:
        wrong = false  // the read failed: read again (or leave it to the next read)
      case true?:
        count(.verified, "virtio_blk", &block)
        return
      case false?:
        if attempt == 0 { count(.caught, "virtio_blk", &block) }
        wrong = true
        guard writeOnce(device, index, number) else { return }
      }
    }
    if wrong { lost(index, number) }
  }

  /// Whether block `index` holds the generation last acknowledged; nil if the read
  /// failed. (Not inlined, as `writeOnce`: each holds a block on the stack, and
  /// `confirm` calls one at a time.)
  @inline(never)
  private static func readsBack(_ device: BlockDeviceProxy, _ index: Int, _ number: UInt64)
    -> Bool?
  {
    guard let request = RRef(BlockRequest(read: number)) else {
      block.errors += 1
      return nil
    }
    guard case .success(let done) = device.read(request), done.read({ $0.status }) == .ok else {
      count(.error, "virtio_blk", &block)
      _ = device.recover()
      return nil
    }
    return intactGeneration(done, number) == generations[index]
  }

  /// Writes the next generation of block `index`; whether the driver acknowledged it.
  @inline(never)
  private static func writeOnce(_ device: BlockDeviceProxy, _ index: Int, _ number: UInt64)
    -> Bool
  {
    let generation = max(generations[index], maybeGenerations[index] ?? 0) + 1
    guard let request = RRef(BlockRequest(read: number)) else {
      block.errors += 1
      return false
    }
    request.update {
      $0.operation = .write
      BlockPattern.fill(&$0.data, block: number, generation: generation)
    }
    // Possibly on the disk from now on, acknowledged or not.
    maybeGenerations[index] = generation
    if case .success(let done) = device.write(request), done.read({ $0.status }) == .ok {
      acknowledged(generation, index)
      return true
    }
    // Not acknowledged: the block holds the old generation or the new one.
    count(.error, "virtio_blk", &block)
    _ = device.recover()
    return false
  }

  /// Block `index` does not hold what was acknowledged, after every retry.
  private static func lost(_ index: Int, _ number: UInt64) {
    block.lost += 1
    Log.error("campaign: block \(number) does not read back generation \(generations[index])")
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
        count(.error, "virtio_blk", &block)
        _ = device.recover()
        return
      }
      if let generation = intactGeneration(done, number), acceptable(generation, index) {
        acknowledged(generation, index)
        count(.verified, "virtio_blk", &block)
        return
      }
      if attempt == 0 { count(.caught, "virtio_blk", &block) }
    }
    lost(index, number)
  }

  // MARK: - Calls

  /// Calls one demo service round after round, checking every answer.
  private static func callWorker(_ name: StaticString, _ call: (Int) -> CallOutcome) {
    var round = 0
    while true {
      waitUntilRunning()
      round += 1
      count(call(round), name, &calls)
      Scheduler.sleep(nanoseconds: 1_000_000)
    }
  }

  /// Adds to the counter and checks the totals; every other round lends it an array of
  /// amounts to sum instead, so that faults also come while it holds a borrowed RRef.
  private static func counterWorker(seed: UInt64) {
    var random = SeededRandom(seed: seed)
    var total: Int? = nil
    guard let amounts = RRefArray<Int, 8>(repeating: 0) else { return }
    callWorker("counter") { round in
      if round % 2 == 0 { return sumRound(amounts, &random) }
      return counterRound(&total, amount: 1 + Int(random.below(7)))
    }
  }

  /// Lends the counter `amounts`, filled afresh, and checks the sum; whatever the call
  /// did (a crash while it borrowed them included), the array must come back to the
  /// worker unborrowed and unchanged: anything else is data lost.
  private static func sumRound(_ amounts: borrowing RRefArray<Int, 8>, _ random: inout SeededRandom)
    -> CallOutcome
  {
    guard case .success(let counter) = CounterProxy.connect() else { return .error }
    var expected = 0
    for index in 0..<amounts.count {
      amounts[index] = Int(random.below(1000))
      expected += amounts[index]
    }
    let result = counter.sum(of: amounts)
    var intact = amounts.owner == 0 && amounts.borrows == 0
    var sum = 0
    for index in 0..<amounts.count { sum += amounts[index] }
    intact = intact && sum == expected
    if !intact {
      calls.lost += 1
      Log.error(
        "campaign: the counter's lent array came back owner \(amounts.owner), \(amounts.borrows) borrows, sum \(sum) not \(expected)"
      )
    }
    return check(result, { $0 == expected }, counter.recover)
  }

  enum CallOutcome { case verified, error, caught }

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
