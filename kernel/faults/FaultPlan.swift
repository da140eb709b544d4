/// Faults planned in domains, by tests, the shell's `fault` and the fault campaign.
///
/// A plan names a domain, a fault kind and where (one checkpoint, or any checkpoint of
/// the domain where that kind can happen), with Linux fault injection's knobs: of the
/// eligible passes only every `interval`-th is a candidate, a candidate fires with
/// `probabilityPerMillion`, and the plan is spent after `times` firings. The domain's
/// library passes its checkpoints (domains/lib/FaultInjection.swift) and asks the kernel
/// only while its planned-fault word is set, which the kernel keeps up to date, so an
/// unplanned checkpoint costs the domain one load. A fault is *activated* when it
/// fires: its point's code ran. Every pass of every point is counted.
import Memory
import SwiftletLib

/// One plan: what fault, where, how often.
struct PlannedFault {
  var domain: DomainID
  var kind: FaultKind
  /// nil: any checkpoint of the domain where `kind` can happen.
  var point: FaultPoint? = nil
  var probabilityPerMillion: UInt32 = 1_000_000
  var interval = 1
  var times = 1
  /// The passes of applicable points since it was planned (FaultPlan counts them).
  var eligiblePasses = 0

  /// Whether `kind` can happen at `point`: a simulated kind only where the point's code
  /// acts it out; the others anywhere.
  static func possible(_ kind: FaultKind, at point: FaultPoint) -> Bool {
    kind.isSimulated ? point.simulates.contains(kind) : kind.isRaisedAtCheckpoint
  }

  fileprivate func applies(at point: FaultPoint) -> Bool {
    if let planned = self.point, planned != point { return false }
    return Self.possible(kind, at: point)
  }
}

/// A fault that fired: what, where, when.
struct FaultActivation {
  var domain: DomainID
  var kind: FaultKind
  /// nil for a fault the kernel did to the domain (a bit flip).
  var point: FaultPoint?
  var nanoseconds: UInt64
}

enum FaultPlan {
  private static let slots = CallABI.maxDomains
  nonisolated(unsafe) private static var plans = [PlannedFault?](repeating: nil, count: slots)
  /// Each domain's planned-fault word and the life (restart count) that registered it:
  /// the word lives in the image, which a crash frees and a restart replaces.
  nonisolated(unsafe) private static var flags = [(address: UInt64, life: Int)?](
    repeating: nil, count: slots)
  nonisolated(unsafe) private static var random = SeededRandom(seed: 1)
  nonisolated(unsafe) private static var passCounts = [UInt64](
    repeating: 0, count: FaultPoint.allCases.count + 16)

  /// How many faults have fired in each domain since boot, and the last one there.
  nonisolated(unsafe) private static var activationCounts = [UInt64](repeating: 0, count: slots)
  nonisolated(unsafe) private static var lastActivations = [FaultActivation?](
    repeating: nil, count: slots)

  /// Seeds the probability draws (the campaign's seed, for a replay).
  static func seed(_ value: UInt64) {
    withInterruptsDisabled { random = SeededRandom(seed: value) }
  }

  /// Plans `plan`, replacing the domain's earlier plan if any.
  static func arm(_ plan: PlannedFault) {
    guard plan.domain.rawValue > 0 && plan.domain.rawValue < slots, plan.times > 0,
      plan.interval > 0
    else { return }
    withInterruptsDisabled {
      plans[plan.domain.rawValue] = plan
      setFlag(plan.domain, true)
    }
  }

  /// Plans a trap at the `after`-th pass of `point` from now (after >= 1).
  static func arm(domain: DomainID, point: Int, after: Int) {
    guard let point = FaultPoint(rawValue: point) else { return }
    arm(PlannedFault(domain: domain, kind: .trap, point: point, interval: after))
  }

  /// Drops `domain`'s plan (every domain's, if nil).
  static func disarm(_ domain: DomainID?) {
    withInterruptsDisabled {
      for index in 1..<slots where domain == nil || domain!.rawValue == index {
        plans[index] = nil
        setFlag(DomainID(rawValue: index), false)
      }
    }
  }

  /// Disarms everything (the old name, for the tests that plan one crash).
  static func disarm() { disarm(nil) }

  /// Whether `domain` still has a plan that has not fired (all its `times`).
  static func isPlanned(_ domain: DomainID) -> Bool {
    withInterruptsDisabled { domain.rawValue < slots && plans[domain.rawValue] != nil }
  }

  /// How many faults have fired in `domain` since boot.
  static func activations(of domain: DomainID) -> UInt64 {
    withInterruptsDisabled { domain.rawValue < slots ? activationCounts[domain.rawValue] : 0 }
  }

  /// The last fault that fired in `domain`.
  static func lastActivation(of domain: DomainID) -> FaultActivation? {
    withInterruptsDisabled { domain.rawValue < slots ? lastActivations[domain.rawValue] : nil }
  }

  /// How many times `point` was passed since boot, in every domain.
  static func passes(_ point: FaultPoint) -> UInt64 {
    withInterruptsDisabled { passCounts[point.rawValue] }
  }

  /// The calling domain passes `point`: the kind to raise or act out there, if one fires.
  static func checkpoint(_ point: FaultPoint) -> FaultKind? {
    let domain = DomainCall.currentDomain
    return withInterruptsDisabled { () -> FaultKind? in
      passCounts[point.rawValue] &+= 1
      guard domain.rawValue > 0 && domain.rawValue < slots, var plan = plans[domain.rawValue],
        plan.applies(at: point)
      else { return nil }
      plan.eligiblePasses += 1
      let fires =
        plan.eligiblePasses % plan.interval == 0
        && random.below(1_000_000) < UInt64(plan.probabilityPerMillion)
      if fires { plan.times -= 1 }
      plans[domain.rawValue] = plan.times > 0 ? plan : nil
      guard fires else { return nil }
      if plan.times == 0 { setFlag(domain, false) }
      record(FaultActivation(domain: domain, kind: plan.kind, point: point, nanoseconds: 0))
      return plan.kind
    }
  }

  /// Counts a fault the kernel did itself (a bit flip) as activated.
  static func recordKernelFault(_ kind: FaultKind, in domain: DomainID) {
    withInterruptsDisabled {
      record(FaultActivation(domain: domain, kind: kind, point: nil, nanoseconds: 0))
    }
  }

  private static func record(_ activation: FaultActivation) {
    guard activation.domain.rawValue < slots else { return }
    var activation = activation
    activation.nanoseconds = Clock.nanoseconds
    activationCounts[activation.domain.rawValue] &+= 1
    lastActivations[activation.domain.rawValue] = activation
  }

  /// The calling domain's init says where its planned-fault word is. Accepted only in
  /// the domain's own writable image: the kernel writes there.
  static func register(_ address: UInt64) {
    guard let domain = DomainManager.current, domain.id.rawValue < slots,
      let image = domain.loadedAt
    else { return }
    let imageRange = image.address..<image.address + UInt64(domain.loadedFrames) * Paging.pageSize
    guard address % 4 == 0, imageRange.contains(address), imageRange.contains(address + 3),
      let mapping = Paging.translate(address), mapping.flags.contains(.writable)
    else {
      Log.warning("domain '\(domain.name)': its fault word at \(hex: address) is not in its data")
      return
    }
    withInterruptsDisabled {
      flags[domain.id.rawValue] = (address, domain.restarts)
      setFlag(domain.id, plans[domain.id.rawValue] != nil)
    }
  }

  /// Sets or clears `domain`'s planned-fault word, if the life that registered it runs.
  private static func setFlag(_ domain: DomainID, _ planned: Bool) {
    guard let (address, life) = flags[domain.rawValue] else { return }
    guard let owner = DomainManager.domain(domain), owner.restarts == life, owner.loadedAt != nil
    else {
      flags[domain.rawValue] = nil
      return
    }
    UnsafeMutablePointer<UInt32>(bitPattern: UInt(address))!.pointee = planned ? 1 : 0
  }
}

// MARK: - The kernel calls

@_extern(c, "selftest_divide_error") private func selftestDivideError() -> UInt64

/// Raises a fault of `kind` in the calling domain (domains/lib/FaultInjection.swift): the
/// hardware faults safe Swift cannot cause itself. Other kinds do nothing here.
@_cdecl("swiftlet_fault")
func swiftletFault(_ kind: Int) {
  let unmapped: UInt64 = 0x7000_0000_0000
  switch FaultKind(rawValue: kind) {
  case .wildRead: _ = CPU.read32(16)  // the null page is never mapped
  case .wildWrite: UnsafeMutablePointer<UInt64>(bitPattern: UInt(unmapped))!.pointee = 1
  case .wildJump: unsafeBitCast(unmapped + 0x1000, to: (@convention(c) () -> Void).self)()
  case .generalProtection: _ = CPU.read32(0x8000_0000_0000_0000)  // not canonical
  case .divideError: _ = selftestDivideError()
  default: break
  }
}

@_cdecl("swiftlet_fault_checkpoint")
func swiftletFaultCheckpoint(_ point: Int) -> Int {
  guard let point = FaultPoint(rawValue: point) else { return 0 }
  return FaultPlan.checkpoint(point)?.rawValue ?? 0
}

@_cdecl("swiftlet_fault_register")
func swiftletFaultRegister(_ address: UInt64) { FaultPlan.register(address) }
