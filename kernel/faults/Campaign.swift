/// The fault campaign: `faults=SEED,COUNT[,SECONDS[,EVERY[,HEARTBEAT]]]` on the command
/// line (`make faults` boots it and adds UDP echo traffic from the host,
/// scripts/faults.py; `make soak` paces it to a fault every EVERY ms, with a memory
/// heartbeat every HEARTBEAT s).
///
/// With load running (CampaignLoad, and the host's echo traffic), it injects faults into
/// domains and kinds chosen from the seed (FaultPlan), one at a time in each *lane*: a
/// group of domains whose faults show in one another's work (the network path: driver,
/// stack, echo). Lanes run side by side. Each fault is followed:
/// - *activated*: its injection point ran (a fault planned in a domain that never
///   reached a point where it could happen is only *injected*);
/// - *contained*: the domain crashed and its callers got errors, or, for a wrong result
///   or a device fault the domain acts out, a caller's check or the driver's own
///   validation caught it;
/// - *recovered*: the domain runs again (restarted if it crashed) and serves verified
///   work after the fault: a block read back right, a call answered right, a datagram
///   echoed;
/// - *failed*: anything else (not contained, or not recovered in time). A panic or a
///   hang ends the boot, which the host sees.
/// A flipped bit that nothing noticed is *silent*: reported, not called contained.
///
/// Output, for the host to turn into a report: `FAULTS` lines (start, each phase, the
/// totals and the memory check) and one `FAULT` line per fault.
import BootInfo
import Memory
import Packets
import SwiftletInterfaces
import SwiftletLib

enum Campaign {
  /// The domains faults go into, in the report's order.
  static let targetNames = [
    "hello", "counter", "crasher", "client", "virtio_blk", "virtio_net", "e1000", "net", "echo",
  ]
  /// Domains followed one fault at a time, because a fault in one shows in the other's
  /// work: the client calls hello; the network path is one chain. A target in none of
  /// these is a lane of its own.
  static let laneGroups: [[String]] = [
    ["hello", "client"], ["virtio_net", "e1000", "net", "echo"],
  ]
  /// One raised fault in this many is planned in the domain's init, which the campaign
  /// then restarts; the others at whichever point of the domain comes first.
  static let initFaultOneIn: UInt64 = 10
  /// How long a planned fault may wait for its point to run.
  static let activationWindow: UInt64 = 1_000_000_000
  /// How long a fault may take to show (a crash, a caught answer) once activated; a loop
  /// may take ten times its domain's call budget more (`inject`).
  static let showWindow: UInt64 = 10_000_000_000
  /// How long a flipped bit is watched for a crash or a caught answer.
  static let outcomeWindow: UInt64 = 300_000_000
  /// How long a domain may take to serve verified work again.
  static let recoveryWindow: UInt64 = 10_000_000_000

  /// One domain's faults of one kind.
  struct Tally {
    var injected = 0
    var activated = 0
    var contained = 0
    var recovered = 0
    var silent = 0
    var failed = 0
    var restartNanoseconds: UInt64 = 0
    var restarts = 0
    var longestRestart: UInt64 = 0
  }

  struct Target {
    let domain: Domain
    /// Its row in the tallies.
    let row: Int
    /// The kinds that can happen in it: every raised kind, the bit flip, and the
    /// simulated kinds its points act out.
    let kinds: [FaultKind]
    /// Whether its work shows in the network counters rather than in a kernel worker.
    let onNetworkPath: Bool
  }

  /// How one fault ended.
  enum Outcome {
    /// It crashed the domain, which restarted and served verified work again.
    case recovered
    /// A check caught it, and the domain served verified work again.
    case caught
    /// A flipped bit nothing noticed.
    case silent
    /// A flipped bit a check caught (its callers got errors or wrong answers they
    /// refused) in a domain that went on running without serving: contained, but not
    /// recovered, since only a crash makes a domain restart. Not a failure of
    /// containment; the report counts it apart (docs/RELIABILITY.md).
    case unrecovered
    case failedNotContained, failedNotRestarted, failedNoService, failedNotRunning

    var name: StaticString {
      switch self {
      case .recovered: "recovered"
      case .caught: "caught"
      case .silent: "silent"
      case .unrecovered: "unrecovered"
      case .failedNotContained: "failed-not-contained"
      case .failedNotRestarted: "failed-not-restarted"
      case .failedNoService: "failed-no-service"
      case .failedNotRunning: "failed-not-running"
      }
    }

    var isFailure: Bool {
      switch self {
      case .recovered, .caught, .silent, .unrecovered: false
      default: true
      }
    }
  }

  /// One lane: its targets, and its own draws from the seed.
  final class Lane {
    let targets: [Target]
    var random: SeededRandom
    init(_ targets: [Target], seed: UInt64) {
      self.targets = targets
      random = SeededRandom(seed: seed)
    }
  }

  /// Per target and kind, row by row (one flat array: a nested one would be copied on
  /// a change, and the copies made after the baseline would look like leaks).
  nonisolated(unsafe) private static var tallies: [Tally] = []
  private static let kindCount = FaultKind.allCases.count + 1
  /// Across the lanes: faults numbered, faults activated, lanes still running.
  nonisolated(unsafe) private static var numbered = 0
  nonisolated(unsafe) private static var activated = 0
  nonisolated(unsafe) private static var lanesRunning = 0
  /// When the lanes stop injecting; 0 until they start.
  nonisolated(unsafe) private static var laneDeadline: UInt64 = 0
  /// A soak's pace: the least time from one fault's start to the next, across the lanes
  /// (0: none), and when the next may start.
  nonisolated(unsafe) private static var spacing: UInt64 = 0
  nonisolated(unsafe) private static var nextStart: UInt64 = 0

  static func run(_ options: CampaignOptions) -> Never {
    Console.print(
      "FAULTS start seed=\(options.seed) count=\(options.faults) seconds=\(options.seconds) every=\(options.every) heartbeat=\(options.heartbeat)"
    )
    spacing = UInt64(options.every) * 1_000_000
    HeapCensus.start()
    FaultPlan.seed(options.seed &* 0x9E37_79B9_7F4A_7C15)
    waitForNetwork()
    CampaignLoad.start(seed: options.seed)
    let targets = chooseTargets()
    tallies = [Tally](repeating: Tally(), count: targets.count * kindCount)
    for target in targets {
      let kinds = target.kinds.map { "\($0.name)" }.joined(separator: ",")
      Console.print("FAULTS target \(target.domain.name) kinds=\(kinds)")
    }
    // The campaign's own bookkeeping exists before the baseline, its lane threads
    // included: made later, they would grow the kernel's tables past the baseline.
    let lanes = makeLanes(targets, seed: options.seed)
    lanesRunning = lanes.count
    for (index, lane) in lanes.enumerated() {
      let names = lane.targets.map { $0.domain.name }.joined(separator: ",")
      Console.print("FAULTS lane \(index) \(names)")
      _ = Scheduler.spawn("campaign lane") {
        while laneDeadline == 0 { Scheduler.sleep(nanoseconds: 10_000_000) }
        runLane(lane, faults: options.faults, deadline: laneDeadline)
        withInterruptsDisabled { lanesRunning -= 1 }
        // It stays until the machine exits: ended, it would free its stack before the
        // end's measurement, which would count it against the baseline.
        while true { Scheduler.sleep(nanoseconds: 1_000_000_000) }
      }
    }
    warmUp(targets)
    let baseline = freshMemory(targets)
    let censusMark = HeapCensus.serial
    Console.print("FAULTS load on")
    CampaignLoad.running = true
    Scheduler.sleep(nanoseconds: 500_000_000)

    let start = Clock.nanoseconds
    laneDeadline = start + UInt64(options.seconds) * 1_000_000_000  // the lanes start
    let heartbeat = UInt64(options.heartbeat) * 1_000_000_000
    var nextBeat = start + heartbeat
    while withInterruptsDisabled({ lanesRunning }) > 0 {
      Scheduler.sleep(nanoseconds: 10_000_000)
      if heartbeat > 0 && Clock.nanoseconds >= nextBeat {
        printHeartbeat(seconds: (Clock.nanoseconds - start) / 1_000_000_000, baseline: baseline)
        nextBeat += heartbeat
      }
    }
    let seconds = (Clock.nanoseconds - start) / 1_000_000_000
    CampaignLoad.running = false
    Console.print("FAULTS load off after \(seconds) s, \(activated) faults activated")
    printNetwork()
    Scheduler.sleep(nanoseconds: 2_000_000_000)  // the host's last datagrams drain
    let end = freshMemory(targets)
    let leaks = report(targets, baseline: baseline, end: end)
    if end.kernelAllocations != baseline.kernelAllocations
      || end.kernelBytes != baseline.kernelBytes
    {
      HeapCensus.report(since: censusMark)
    }
    Console.print("FAULTS end \(leaks == 0 ? "ok" : "leaked")")
    Machine.exit(leaks == 0 ? .success : .failure)
  }

  /// The lanes: the groups in `laneGroups` that have targets, then every other target
  /// alone.
  private static func makeLanes(_ targets: [Target], seed: UInt64) -> [Lane] {
    var groups: [[Target]] = laneGroups.map { names in
      targets.filter { target in names.contains { $0 == target.domain.name } }
    }
    for target in targets where !laneGroups.contains(where: { $0.contains(target.domain.name) }) {
      groups.append([target])
    }
    return groups.filter { !$0.isEmpty }.enumerated().map { index, group in
      Lane(group, seed: seed ^ (UInt64(index + 1) &* 0x2545_F491_4F6C_DD1D))
    }
  }

  /// Injects faults into the lane's targets, one at a time, until the campaign has
  /// its count or its time is up.
  private static func runLane(_ lane: Lane, faults: Int, deadline: UInt64) {
    while withInterruptsDisabled({ activated }) < faults && Clock.nanoseconds < deadline {
      if spacing > 0 {
        // Paced: take the next start time, and wait for it.
        let slot = withInterruptsDisabled { () -> UInt64 in
          let slot = max(nextStart, Clock.nanoseconds)
          nextStart = slot + spacing
          return slot
        }
        guard slot < deadline else { break }
        let now = Clock.nanoseconds
        if slot > now { Scheduler.sleep(nanoseconds: slot - now) }
      }
      let target = lane.targets[lane.random.index(lane.targets.count)]
      let kind = chooseKind(target, &lane.random)
      let number = withInterruptsDisabled { () -> Int in
        numbered += 1
        return numbered
      }
      if inject(number, kind, into: target, lane) {
        withInterruptsDisabled { activated += 1 }
      }
    }
  }

  /// Load, one crash in every target, and a probe of which points run, before the
  /// baseline is taken: what the kernel makes lazily on the way (tables, slots, the
  /// workers' first calls) exists by then, so the baseline and the end compare like
  /// with like. Not counted.
  private static func warmUp(_ targets: [Target]) {
    CampaignLoad.running = true
    for target in targets {
      let activations = FaultPlan.activations(of: target.domain.id)
      FaultPlan.arm(PlannedFault(domain: target.domain.id, kind: .trap))
      _ = waitFor(activationWindow) { FaultPlan.activations(of: target.domain.id) != activations }
      FaultPlan.disarm(target.domain.id)
    }
    // A probe in every target: a plan that never fires, so that the domains pass every
    // checkpoint to the kernel, which counts the points that run (a domain with no plan
    // does not ask: an earlier fault at another point would have hidden them).
    for target in targets {
      FaultPlan.arm(PlannedFault(domain: target.domain.id, kind: .trap, probabilityPerMillion: 0))
    }
    Scheduler.sleep(nanoseconds: 500_000_000)
    FaultPlan.disarm(nil)
    CampaignLoad.running = false
    Scheduler.sleep(nanoseconds: 200_000_000)  // the workers finish what they do
  }

  // MARK: - Choosing

  private static func chooseTargets() -> [Target] {
    var targets: [Target] = []
    let raised = FaultKind.allCases.filter { $0.isRaisedAtCheckpoint && !$0.isSimulated }
    for name in targetNames {
      guard let domain = DomainManager.lookup(name), domain.state == .running else { continue }
      if !domain.manifest.device.isEmpty {
        guard let wanted = DeviceIdentity.parse(domain.manifest.device),
          DeviceManager.find(vendor: wanted.vendor, deviceIDs: wanted.deviceIDs) != nil
        else { continue }  // a driver with no device runs none of its points
      }
      var kinds = raised + [.bitFlip]
      for point in points(of: name) {
        for kind in point.simulates where !kinds.contains(kind) { kinds.append(kind) }
      }
      let onNetwork = name == "net" || name == "echo" || name == "virtio_net" || name == "e1000"
      targets.append(
        Target(domain: domain, row: targets.count, kinds: kinds, onNetworkPath: onNetwork))
    }
    return targets
  }

  /// The checkpoints each domain's code passes.
  static func points(of name: String) -> [FaultPoint] {
    switch name {
    case "virtio_blk": [.initialization, .blockBatchInFlight, .blockCompletion]
    case "virtio_net", "e1000":
      [.initialization, .frameReceive, .frameCompletion, .frameTransmit, .transmitCompletion]
    case "net": [.initialization, .stackInput, .socketDelivery]
    case "echo": [.initialization, .echoReply]
    case "counter": [.initialization, .demoCall, .counterResult]
    default: [.initialization, .demoCall]
    }
  }

  /// A kind for `target`, weighted: an endless loop costs its domain's whole call budget
  /// to end, so it is chosen an eighth as often as the others. A simulated kind only
  /// once one of its points has run (a point whose code never runs cannot activate).
  private static func chooseKind(_ target: Target, _ random: inout SeededRandom) -> FaultKind {
    let weights = target.kinds.map { kind in
      guard !kind.isSimulated || !runningPoints(target, kind).isEmpty else { return 0 }
      return kind == .infiniteLoop ? 1 : 8
    }
    var pick = Int(random.below(UInt64(weights.reduce(0, +))))
    for (index, weight) in weights.enumerated() {
      if pick < weight { return target.kinds[index] }
      pick -= weight
    }
    return .trap
  }

  /// The points of `target` that act out `kind` and have run.
  private static func runningPoints(_ target: Target, _ kind: FaultKind) -> [FaultPoint] {
    points(of: target.domain.name).filter {
      $0.simulates.contains(kind) && FaultPlan.passes($0) > 0
    }
  }

  // MARK: - One fault

  /// Injects one fault and follows it to its end; whether it was activated.
  private static func inject(_ number: Int, _ kind: FaultKind, into target: Target, _ lane: Lane)
    -> Bool
  {
    let domain = target.domain
    guard settled(target) else {
      record(number, target, kind, nil, .failedNotRunning, 0)
      tally(target, kind) {
        $0.injected += 1
        $0.failed += 1
      }
      return true
    }
    tally(target, kind) { $0.injected += 1 }
    var crashes = domain.crashes
    let restarts = domain.restarts
    // What a check catching the fault would move. For a domain on the network path they
    // are read through the stack and the driver, which may still be coming back from
    // the lane's last fault: waited for, since a fault injected with nothing to compare
    // against could never be seen caught.
    var signals = detectionSignals(target)
    if signals == nil {
      _ = waitFor(recoveryWindow) {
        signals = detectionSignals(target)
        return signals != nil
      }
    }
    let activations = FaultPlan.activations(of: domain.id)

    var point: FaultPoint? = nil
    if kind == .bitFlip {
      guard flipBit(in: domain, &lane.random) else { return false }
    } else if !kind.isSimulated && lane.random.below(initFaultOneIn) == 0 {
      // A crash during init: the domain is stopped and started again, here, with the
      // fault planned in its init. (The stop is not the fault's crash.)
      point = .initialization
      FaultPlan.arm(PlannedFault(domain: domain.id, kind: kind, point: .initialization))
      DomainManager.crash(
        domain, "stopped by the fault campaign, to start it with a fault in its init",
        status: .stopped)
      crashes = domain.crashes
      _ = DomainManager.restart(domain)
      FaultPlan.disarm(domain.id)
      guard FaultPlan.activations(of: domain.id) != activations else { return false }
    } else {
      if kind.isSimulated {
        let able = runningPoints(target, kind)
        point = able[lane.random.index(able.count)]
      }
      FaultPlan.arm(PlannedFault(domain: domain.id, kind: kind, point: point))
      let fired = waitFor(activationWindow) { FaultPlan.activations(of: domain.id) != activations }
      FaultPlan.disarm(domain.id)
      // It may have fired between the end of the wait and the disarm.
      guard fired || FaultPlan.activations(of: domain.id) != activations else { return false }
      point = FaultPlan.lastActivation(of: domain.id)?.point
    }
    // Times count from the fault itself (the kernel stamps it as it fires), not from
    // when this lane, polling, saw it.
    let stamp = kind == .bitFlip ? nil : FaultPlan.lastActivation(of: domain.id)?.nanoseconds
    let activatedAt = stamp ?? Clock.nanoseconds
    tally(target, kind) { $0.activated += 1 }

    // How it showed: a crash, or a check that caught it. A fault the domain raises must
    // crash it; one it acts out must be caught (or crash it); a flipped bit may do
    // either or nothing, so its whole window is waited for.
    let budget =
      UInt64(max(domain.manifest.budgetMilliseconds, DomainManager.ownThreadBudgetMilliseconds))
      * 1_000_000
    // A fault shows at once in a thread that is running, but a domain's own thread
    // (echo's, a driver's receive loop) runs at the lowest priority: while kernel threads
    // keep the CPU (the load, and loops in calls, each for up to its budget) it may not
    // run for seconds. So a fault has `showWindow` to show, and a loop, which the
    // watchdog ends after a budget of the looping thread's own running, ten budgets
    // more. A fault that shows ends the wait at once; only a flipped bit, which may show
    // or not, is waited for to the end of its shorter window.
    let window =
      switch kind {
      case .bitFlip: outcomeWindow
      case .infiniteLoop: showWindow + 10 * budget
      default: showWindow
      }
    var caught = false
    let crashed = waitFor(window) {
      if !caught, let now = detectionSignals(target), let before = signals, now != before {
        caught = true
      }
      return domain.crashes != crashes || (caught && kind.isSimulated)
    }
    var outcome: Outcome
    var restartTime: UInt64 = 0
    if crashed || caught {
      tally(target, kind) { $0.contained += 1 }
      // Back: running again (restarted, if it crashed), then verified work after that.
      // (The kernel restarts a crashed echo, which no call would: DomainManager's
      // supervisor.)
      let back = waitFor(recoveryWindow) {
        domain.state == .running && (domain.crashes == crashes || domain.restarts != restarts)
      }
      restartTime = Clock.nanoseconds - activatedAt
      let since = Clock.nanoseconds
      if back && waitFor(recoveryWindow, { servedSince(since, target) }) {
        let restarted = domain.restarts != restarts
        outcome = restarted ? .recovered : .caught
        tally(target, kind) { tally in
          tally.recovered += 1
          if restarted {
            tally.restarts += 1
            tally.restartNanoseconds += restartTime
            tally.longestRestart = max(tally.longestRestart, restartTime)
          }
        }
      } else if kind == .bitFlip && back && !crashed {
        outcome = .unrecovered
      } else {
        tally(target, kind) { $0.failed += 1 }
        outcome = back ? .failedNoService : .failedNotRestarted
      }
    } else if kind == .bitFlip {
      tally(target, kind) { $0.silent += 1 }
      outcome = .silent
    } else {
      tally(target, kind) { $0.failed += 1 }
      outcome = .failedNotContained
    }
    record(number, target, kind, point, outcome, restartTime)
    if kind == .bitFlip && domain.restarts == restarts && domain.state == .running {
      // A flipped bit that did not end the domain may still be there, in a value not
      // yet used or a call target not yet taken: the next fault in this domain would be
      // judged on a corrupt image (a wild read that never raises, because the flip
      // redirected the kernel call that raises it). Each trial starts clean: this one
      // ends with a fresh start. The domain is stopped as a crash stops it, and brought
      // back as after a crash, by its callers or the supervisor: a restart behind its
      // callers' backs would leave them believing what the old life held (the stack its
      // buffers posted in a NIC driver that has none).
      DomainManager.crash(
        domain, "stopped by the fault campaign, to start it clean after a bit flip",
        status: .stopped)
    }
    return true
  }

  /// Waits until `target` runs and has run long enough that a crash now would not count
  /// as quick (RestartBackoff): faults one after another in the first moments of each
  /// life would be a crash loop, which the kernel answers by giving the domain up (the
  /// lifecycle tests test that). Whether it got there.
  private static func settled(_ target: Target) -> Bool {
    waitFor(recoveryWindow) {
      guard target.domain.state == .running, let since = target.domain.backoff.runningSince
      else { return false }
      return Clock.nanoseconds &- since > RestartBackoff.quickCrashNanoseconds
    }
  }

  private static func tally(_ target: Target, _ kind: FaultKind, _ change: (inout Tally) -> Void) {
    withInterruptsDisabled { change(&tallies[target.row * kindCount + kind.rawValue]) }
  }

  /// The fault's `FAULT` line: number, domain, kind, point, outcome, microseconds from
  /// activation to running again; for a failure, the domain's state and crashes then.
  private static func record(
    _ number: Int, _ target: Target, _ kind: FaultKind, _ point: FaultPoint?,
    _ outcome: Outcome, _ restartTime: UInt64
  ) {
    var line: TextLine =
      "FAULT \(number) \(target.domain.name) \(kind.name) \(point.map { "\($0.name)" } ?? "-") \(outcome.name) \(restartTime / 1000)"
    let explained = outcome.isFailure || outcome == .unrecovered
    if explained {
      line.append(" state=\(target.domain.state.name) crashes=\(target.domain.crashes)")
    }
    Console.print(line)
    if explained { Console.print("  its last crash: \(target.domain.lastCrash)") }
  }

  /// Counts that move when a check catches a wrong answer: the kernel workers', and for
  /// a domain on the network path the stack's drops (a corrupt frame fails a checksum)
  /// and driver restarts, and the NIC driver's own errors and device resets (a bogus
  /// completion it refused). nil if they cannot be read now (the stack or the driver is
  /// down).
  private static func detectionSignals(_ target: Target) -> UInt64? {
    var signals = CampaignLoad.signals[target.domain.id.rawValue]
    if target.onNetworkPath {
      guard let status = networkStatus(recovering: false),
        case .success(let driver) = NetworkDeviceProxy.connect(),
        case .success(let device) = driver.counters()
      else { return nil }
      for index in 0..<status.drops.count { signals &+= status.drops[index] }
      signals &+= status.driverRestarts &+ device.resets &+ device.receiveErrors
      signals &+= device.transmitErrors
    }
    return signals
  }

  /// Whether `target` served verified work after `since`.
  private static func servedSince(_ since: UInt64, _ target: Target) -> Bool {
    if target.onNetworkPath {
      // The echo answered the host again: frames went out, through a running stack.
      guard let before = networkStatus()?.sentFrames else { return false }
      Scheduler.sleep(nanoseconds: 20_000_000)
      guard let after = networkStatus()?.sentFrames else { return false }
      return after > before
    }
    if target.domain.name == "virtio_blk" && !CampaignLoad.hasDisk { return true }
    return CampaignLoad.lastVerified[target.domain.id.rawValue] > since
  }

  /// The stack's status; a crashed stack is restarted first if `recovering`.
  private static func networkStatus(recovering: Bool = true) -> NetworkStatus? {
    guard case .success(let control) = NetworkControlProxy.connect() else { return nil }
    switch control.status() {
    case .success(let status): return status
    case .failure:
      if recovering { _ = control.recover() }
      return nil
    }
  }

  /// Flips one bit of the domain's writable image (its globals), chosen from the seed.
  private static func flipBit(in domain: Domain, _ random: inout SeededRandom) -> Bool {
    guard let image = domain.loadedAt else { return false }
    var writable: [UInt64] = []
    for page in 0..<domain.loadedFrames {
      let address = image.address + UInt64(page) * Paging.pageSize
      if let mapping = Paging.translate(address), mapping.flags.contains(.writable) {
        writable.append(address)
      }
    }
    guard !writable.isEmpty else { return false }
    let address = writable[random.index(writable.count)] + random.below(Paging.pageSize)
    let bit = UInt8(1) << UInt8(random.below(8))
    withInterruptsDisabled {
      domain.corruptedLife = domain.restarts
      UnsafeMutablePointer<UInt8>(bitPattern: UInt(address))!.pointee ^= bit
    }
    FaultPlan.recordKernelFault(.bitFlip, in: domain.id)
    return true
  }

  /// Polls `condition` every millisecond for up to `nanoseconds`; whether it held.
  private static func waitFor(_ nanoseconds: UInt64, _ condition: () -> Bool) -> Bool {
    let deadline = Clock.nanoseconds + nanoseconds
    while !condition() {
      guard Clock.nanoseconds < deadline else { return false }
      Scheduler.sleep(nanoseconds: 1_000_000)
    }
    return true
  }

  // MARK: - Network and memory

  /// The stack's counters as the load stops (a fresh restart at the end starts them
  /// over).
  private static func printNetwork() {
    guard let status = networkStatus() else { return }
    Console.print(
      "FAULTS network received=\(status.receivedFrames) sent=\(status.sentFrames) driver_restarts=\(status.driverRestarts)"
    )
  }

  /// Waits (up to 20 s) for the stack to have an address, if there is a stack.
  private static func waitForNetwork() {
    guard DomainManager.lookup("net") != nil else { return }
    let up = waitFor(20_000_000_000) { (networkStatus()?.address ?? .any) != .any }
    Console.print("FAULTS network \(up ? "up" : "down")")
  }

  struct MemoryUse: Equatable {
    var kernelBytes = 0
    var kernelAllocations = 0
    var freeFrames = 0
    var slabCapacity = 0
    var sharedAllocations = 0
    var sharedBytes = 0

    /// What changed since `baseline`: frames taken, not counting those the kernel heap's
    /// slabs grew by (its bytes count those).
    func change(since baseline: MemoryUse) -> MemoryChange {
      let slabGrowth = (slabCapacity - baseline.slabCapacity) / Int(Paging.pageSize)
      return MemoryChange(
        kernelBytes: kernelBytes - baseline.kernelBytes,
        kernelAllocations: kernelAllocations - baseline.kernelAllocations,
        sharedBytes: sharedBytes - baseline.sharedBytes,
        sharedAllocations: sharedAllocations - baseline.sharedAllocations,
        frames: baseline.freeFrames - freeFrames - slabGrowth)
    }
  }

  struct MemoryChange {
    var kernelBytes: Int
    var kernelAllocations: Int
    var sharedBytes: Int
    var sharedAllocations: Int
    var frames: Int

    /// As the report's `key=value` fields.
    var fields: TextLine {
      "kernel_bytes=\(kernelBytes) kernel_allocations=\(kernelAllocations) shared_bytes=\(sharedBytes) shared_allocations=\(sharedAllocations) frames=\(frames)"
    }
  }

  /// Every target restarted fresh, the network up again, then the kernel's memory: what
  /// a fresh set of domains holds is the same at the start and the end, so what
  /// differs was leaked.
  private static func freshMemory(_ targets: [Target]) -> MemoryUse {
    for target in targets where target.domain.state != .destroyed {
      // A running domain is ended first, its threads unwound, as a crash would.
      if target.domain.state == .running {
        DomainManager.crash(
          target.domain, "restarted fresh by the fault campaign", status: .stopped)
      }
      if case .failure(let error) = DomainManager.restart(target.domain) {
        Console.print("FAULTS restart of \(target.domain.name) failed: \(error.message)")
      }
    }
    waitForNetwork()
    Scheduler.sleep(nanoseconds: 1_000_000_000)  // the stack posts its buffers, echo opens
    var threads = 0
    Scheduler.forEachThread { _ in threads += 1 }
    var detail: TextLine = "FAULTS held threads=\(threads)"
    for target in targets {
      detail.append(
        " \(target.domain.name)=\(target.domain.framesInUse)f/\(SharedMemory.accountedBytes(of: target.domain.id))b/\(target.domain.liveThreads)t"
      )
    }
    Console.print(detail)
    return currentMemory()
  }

  /// The kernel's memory counters as they are now.
  private static func currentMemory() -> MemoryUse {
    let heap = KernelHeap.statistics
    let shared = SharedMemory.totals
    return MemoryUse(
      kernelBytes: heap.bytesInUse, kernelAllocations: heap.liveAllocations,
      freeFrames: Frames.statistics.freeFrames, slabCapacity: heap.capacity,
      sharedAllocations: shared.allocations, sharedBytes: shared.bytes)
  }

  // MARK: - Report

  /// Prints the totals; returns the bytes and frames not given back.
  private static func report(_ targets: [Target], baseline: MemoryUse, end: MemoryUse) -> Int {
    for (row, target) in targets.enumerated() {
      for kind in FaultKind.allCases {
        let tally = tallies[row * kindCount + kind.rawValue]
        guard tally.injected > 0 else { continue }
        let average = tally.restarts > 0 ? tally.restartNanoseconds / UInt64(tally.restarts) : 0
        Console.print(
          "FAULTS tally \(target.domain.name) \(kind.name) injected=\(tally.injected) activated=\(tally.activated) contained=\(tally.contained) recovered=\(tally.recovered) silent=\(tally.silent) failed=\(tally.failed) restart_us_avg=\(average / 1000) restart_us_max=\(tally.longestRestart / 1000)"
        )
      }
    }
    let load = CampaignLoad.block
    let calls = CampaignLoad.calls
    Console.print(
      "FAULTS load blocks_verified=\(load.verified) block_errors=\(load.errors) block_caught=\(load.caught) block_lost=\(load.lost) calls_verified=\(calls.verified) call_errors=\(calls.errors) calls_caught=\(calls.caught) calls_lost=\(calls.lost)"
    )
    for index in 0..<CampaignLoad.blocks.count
    where CampaignLoad.generations[index] != 0
      || CampaignLoad.maybeGenerations[index] != nil
    {
      let maybe = CampaignLoad.maybeGenerations[index].map { " \($0)" } ?? ""
      Console.print(
        "FAULTS disk \(CampaignLoad.blocks.lowerBound + UInt64(index)) \(CampaignLoad.generations[index])\(maybe)"
      )
    }
    let change = end.change(since: baseline)
    Console.print("FAULTS memory \(change.fields)")
    return abs(change.kernelBytes) + abs(change.sharedBytes)
      + abs(change.frames) * Int(Paging.pageSize)
  }

  /// A soak's heartbeat: the time, the faults so far, the load's counts, and the memory
  /// in use now against the baseline. Domains in the middle of a fault or a restart hold
  /// more or less than fresh ones, so these swing; a leak shows as a rise that stays.
  private static func printHeartbeat(seconds: UInt64, baseline: MemoryUse) {
    let change = currentMemory().change(since: baseline)
    let load = CampaignLoad.block
    Console.print(
      "FAULTS heartbeat seconds=\(seconds) activated=\(withInterruptsDisabled { activated }) blocks_verified=\(load.verified) calls_verified=\(CampaignLoad.calls.verified) \(change.fields)"
    )
  }
}
