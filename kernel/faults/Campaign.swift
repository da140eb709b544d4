/// The fault campaign: `faults=SEED,COUNT[,SECONDS]` on the command line (`make faults`
/// boots it and adds UDP echo traffic from the host, scripts/faults.py).
///
/// With load running (CampaignLoad, and the host's echo traffic), it injects one fault
/// at a time into a domain and kind chosen from the seed (FaultPlan), and follows it:
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
  /// How long a planned fault may wait for its point to run.
  static let activationWindow: UInt64 = 1_000_000_000
  /// How long a fault may take to show (a crash, a caught answer) once activated; a loop
  /// takes its domain's call budget more.
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
    /// The kinds that can happen in it: every raised kind, the bit flip, and the
    /// simulated kinds its points act out.
    let kinds: [FaultKind]
    /// Whether its work shows in the network counters rather than in a kernel worker.
    let onNetworkPath: Bool
  }

  nonisolated(unsafe) private static var tallies: [[Tally]] = []
  nonisolated(unsafe) private static var random = SeededRandom(seed: 1)

  static func run(_ options: CampaignOptions) -> Never {
    Console.print(
      "FAULTS start seed=\(options.seed) count=\(options.faults) seconds=\(options.seconds)")
    random = SeededRandom(seed: options.seed)
    FaultPlan.seed(options.seed &* 0x9E37_79B9_7F4A_7C15)
    waitForNetwork()
    CampaignLoad.start(seed: options.seed)
    let targets = chooseTargets()
    tallies = [[Tally]](
      repeating: [Tally](repeating: Tally(), count: FaultKind.allCases.count + 1),
      count: targets.count)
    for target in targets {
      let kinds = target.kinds.map { "\($0.name)" }.joined(separator: ",")
      Console.print("FAULTS target \(target.domain.name) kinds=\(kinds)")
    }
    warmUp(targets)
    let baseline = freshMemory(targets)
    Console.print("FAULTS load on")
    CampaignLoad.running = true
    Scheduler.sleep(nanoseconds: 500_000_000)

    let start = Clock.nanoseconds
    let deadline = start + UInt64(options.seconds) * 1_000_000_000
    var activated = 0
    var number = 0
    while activated < options.faults && Clock.nanoseconds < deadline {
      number += 1
      let target = targets[random.index(targets.count)]
      let kind = chooseKind(target)
      if inject(number, kind, into: target, targets) { activated += 1 }
    }
    let seconds = (Clock.nanoseconds - start) / 1_000_000_000
    CampaignLoad.running = false
    Console.print("FAULTS load off after \(seconds) s, \(activated) faults activated")
    Scheduler.sleep(nanoseconds: 2_000_000_000)  // the host's last datagrams drain
    let end = freshMemory(targets)
    let leaks = report(targets, baseline: baseline, end: end)
    Console.print("FAULTS end \(leaks == 0 ? "ok" : "leaked")")
    Machine.exit(leaks == 0 ? .success : .failure)
  }

  /// Load, and one crash in every target, before the baseline is taken: what the kernel
  /// makes lazily on the way (tables, slots, the workers' first calls) exists by then,
  /// so the baseline and the end compare like with like. Not counted.
  private static func warmUp(_ targets: [Target]) {
    CampaignLoad.running = true
    for target in targets {
      let activations = FaultPlan.activations
      FaultPlan.arm(PlannedFault(domain: target.domain.id, kind: .trap))
      _ = waitFor(activationWindow) { FaultPlan.activations != activations }
      FaultPlan.disarm(target.domain.id)
      reviveIfNeeded(targets)
    }
    Scheduler.sleep(nanoseconds: 500_000_000)
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
      targets.append(Target(domain: domain, kinds: kinds, onNetworkPath: onNetwork))
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
  /// to end, so it is chosen an eighth as often as the others.
  private static func chooseKind(_ target: Target) -> FaultKind {
    let weights = target.kinds.map { $0 == .infiniteLoop ? 1 : 8 }
    var pick = Int(random.below(UInt64(weights.reduce(0, +))))
    for (index, weight) in weights.enumerated() {
      if pick < weight { return target.kinds[index] }
      pick -= weight
    }
    return .trap
  }

  // MARK: - One fault

  /// Injects one fault and follows it to its end; whether it was activated.
  private static func inject(_ number: Int, _ kind: FaultKind, into target: Target, _ all: [Target])
    -> Bool
  {
    let domain = target.domain
    let row = all.firstIndex { $0.domain === domain }!
    tallies[row][kind.rawValue].injected += 1
    reviveIfNeeded(all)
    let crashes = domain.crashes
    let restarts = domain.restarts
    let signals = detectionSignals(target)
    let activations = FaultPlan.activations

    var point: FaultPoint? = nil
    if kind == .bitFlip {
      guard flipBit(in: domain) else { return false }
    } else {
      if kind.isSimulated {
        let able = points(of: domain.name).filter { $0.simulates.contains(kind) }
        point = able[random.index(able.count)]
      }
      FaultPlan.arm(PlannedFault(domain: domain.id, kind: kind, point: point))
      guard waitFor(activationWindow, { FaultPlan.activations != activations }) else {
        FaultPlan.disarm(domain.id)
        return false
      }
      point = FaultPlan.lastActivation?.point
    }
    let activatedAt = Clock.nanoseconds
    tallies[row][kind.rawValue].activated += 1

    // How it showed: a crash, or a check that caught it.
    let budget =
      UInt64(max(domain.manifest.budgetMilliseconds, DomainManager.ownThreadBudgetMilliseconds))
      * 1_000_000
    let window = outcomeWindow + (kind == .infiniteLoop ? budget : 0)
    // A check may catch a wrong answer before (or instead of) a crash: a crash is waited
    // for to the end of the window all the same.
    var caught = false
    let crashed = waitFor(window) {
      if !caught, let now = detectionSignals(target), let before = signals, now != before {
        caught = true
      }
      return domain.crashes != crashes
    }
    var outcome: StaticString
    var restartTime: UInt64 = 0
    if crashed || caught {
      tallies[row][kind.rawValue].contained += 1
      // Back: running again (restarted, if it crashed), then verified work after that.
      let back = waitFor(recoveryWindow) {
        reviveIfNeeded(all)
        return domain.state == .running && (!crashed || domain.restarts != restarts)
      }
      restartTime = Clock.nanoseconds - activatedAt
      let since = Clock.nanoseconds
      if back && waitFor(recoveryWindow, { servedSince(since, target) }) {
        tallies[row][kind.rawValue].recovered += 1
        outcome = crashed ? "recovered" : "caught"
        if crashed {
          tallies[row][kind.rawValue].restarts += 1
          tallies[row][kind.rawValue].restartNanoseconds += restartTime
          tallies[row][kind.rawValue].longestRestart = max(
            tallies[row][kind.rawValue].longestRestart, restartTime)
        }
      } else {
        tallies[row][kind.rawValue].failed += 1
        outcome = back ? "failed-no-service" : "failed-not-restarted"
      }
    } else if kind == .bitFlip {
      tallies[row][kind.rawValue].silent += 1
      outcome = "silent"
    } else {
      tallies[row][kind.rawValue].failed += 1
      outcome = "failed-not-contained"
    }
    Console.print(
      "FAULT \(number) \(domain.name) \(kind.name) \(point.map { "\($0.name)" } ?? "-") \(outcome) \(restartTime / 1000) heap=\(KernelHeap.statistics.liveAllocations)"
    )
    return true
  }

  /// Counts that move when a check catches a wrong answer: the kernel workers', and for
  /// a domain on the network path the stack's drops (a corrupt frame fails a checksum).
  /// nil if they cannot be read now (the stack is down).
  private static func detectionSignals(_ target: Target) -> UInt64? {
    var signals = CampaignLoad.caught &+ CampaignLoad.errors
    if target.onNetworkPath {
      guard let status = networkStatus(recovering: false) else { return nil }
      for index in 0..<status.drops.count { signals &+= status.drops[index] }
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

  /// Restarts a crashed domain nobody calls (the echo service exports nothing, so no
  /// caller's call would restart it).
  @discardableResult
  private static func reviveIfNeeded(_ targets: [Target]) -> Bool {
    for target in targets
    where target.domain.state == .crashed && target.domain.exportSlots.isEmpty {
      _ = DomainManager.restart(target.domain)
    }
    return true
  }

  /// Flips one bit of the domain's writable image (its globals), chosen from the seed.
  private static func flipBit(in domain: Domain) -> Bool {
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
        let tally = tallies[row][kind.rawValue]
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
      "FAULTS load blocks_verified=\(load.verified) block_errors=\(load.errors) block_caught=\(load.caught) block_lost=\(load.lost) calls_verified=\(calls.verified) call_errors=\(calls.errors) calls_caught=\(calls.caught)"
    )
    if let status = networkStatus() {
      Console.print(
        "FAULTS network received=\(status.receivedFrames) sent=\(status.sentFrames) driver_restarts=\(status.driverRestarts)"
      )
    }
    for index in 0..<CampaignLoad.blocks.count
    where CampaignLoad.generations[index] != 0
      || CampaignLoad.maybeGenerations[index] != nil
    {
      let maybe = CampaignLoad.maybeGenerations[index].map { " \($0)" } ?? ""
      Console.print(
        "FAULTS disk \(CampaignLoad.blocks.lowerBound + UInt64(index)) \(CampaignLoad.generations[index])\(maybe)"
      )
    }
    let slabGrowth = (end.slabCapacity - baseline.slabCapacity) / Int(Paging.pageSize)
    let frames = baseline.freeFrames - end.freeFrames - slabGrowth
    let kernelBytes = end.kernelBytes - baseline.kernelBytes
    let sharedBytes = end.sharedBytes - baseline.sharedBytes
    Console.print(
      "FAULTS memory kernel_bytes=\(kernelBytes) kernel_allocations=\(end.kernelAllocations - baseline.kernelAllocations) shared_bytes=\(sharedBytes) shared_allocations=\(end.sharedAllocations - baseline.sharedAllocations) frames=\(frames)"
    )
    return abs(kernelBytes) + abs(sharedBytes) + abs(frames) * Int(Paging.pageSize)
  }
}
