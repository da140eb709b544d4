/// Faults on purpose: the kinds safe Swift cannot cause itself, for the crash tests, and
/// the injection points the fault campaign arms (kernel/faults/FaultPlan.swift).
///
/// Trusted code, so the domains stay safe Swift: a domain passes its checkpoints, and
/// when the kernel has planned a fault there, this raises it in the domain exactly as a
/// bug would (InjectedFaults.swift acts out the kinds safe Swift can cause).
import _Volatile

@_extern(c, "swiftlet_fault")
func kernelFault(_ kind: Int)

@_extern(c, "swiftlet_fault_checkpoint")
func kernelFaultCheckpoint(_ point: Int) -> Int

@_extern(c, "swiftlet_fault_register")
func kernelFaultRegister(_ address: UInt64)

/// Nonzero while the kernel has a fault planned for this domain. The kernel writes it
/// (this domain registers its address at init), so that a checkpoint costs one load and
/// a branch when nothing is planned, which is nearly always.
nonisolated(unsafe) private var faultPlanned: UInt32 = 0

public enum FaultInjection {
  /// A write to an address no page maps.
  public static func pageFault() { kernelFault(FaultKind.wildWrite.rawValue) }
  /// A read from a non-canonical address.
  public static func generalProtection() { kernelFault(FaultKind.generalProtection.rawValue) }
  /// A `div` by zero in the CPU.
  public static func divideError() { kernelFault(FaultKind.divideError.rawValue) }

  /// Called first by every domain's init (the generated swiftlet_domain_init): tells
  /// the kernel where this domain's planned-fault word is, then passes the
  /// `.initialization` checkpoint, where a campaign plans crashes during init.
  public static func domainStarting() {
    // A global's address does not change; the access ends before the kernel call.
    let address = unsafe withUnsafeMutablePointer(to: &faultPlanned) {
      UInt64(UInt(bitPattern: $0))
    }
    kernelFaultRegister(address)
    checkpoint(.initialization)
  }

  /// A point in a domain's code where a fault may be planned. Passing it does nothing
  /// unless the kernel planned a fault for this domain here (a test, the shell's
  /// `fault`, or the campaign); then the fault happens here, which the kernel contains
  /// like any crash.
  public static func checkpoint(_ point: FaultPoint) {
    _ = plannedFault(at: point)
  }

  /// Passes `point`, a point whose code can act out wrong behaviour
  /// (`FaultPoint.simulates`): raises a planned crash as `checkpoint` does, and returns
  /// a planned simulated fault (a wrong result, a lost or bogus completion) for the
  /// caller to act out. nil almost always.
  public static func simulatedFault(at point: FaultPoint) -> FaultKind? {
    plannedFault(at: point)
  }

  @inline(__always)
  private static func plannedFault(at point: FaultPoint) -> FaultKind? {
    guard unsafe faultPlanned != 0 else { return nil }
    guard let kind = FaultKind(rawValue: kernelFaultCheckpoint(point.rawValue)) else {
      return nil
    }
    if kind.isSimulated { return kind }
    raise(kind)
    return nil
  }

  /// Raises `kind` in this domain now. A simulated kind does nothing here.
  static func raise(_ kind: FaultKind) {
    switch kind {
    case .trap: preconditionFailure("a fault injected on purpose")
    case .wildRead, .wildWrite, .wildJump, .generalProtection, .divideError:
      kernelFault(kind.rawValue)
    case .stackOverflow: InjectedFaults.overflowTheStack()
    case .infiniteLoop: loopForever()
    case .heapExhaustion: InjectedFaults.exhaustTheHeap()
    case .sharedHeapHoarding: InjectedFaults.hoardTheSharedHeap()
    case .wrongResult, .lostCompletion, .bogusCompletion, .bitFlip: break
    }
  }
}

/// Spins until the watchdog ends the call (or, in a domain's own thread, until the
/// kernel ends the domain for keeping the CPU). Each turn is a volatile load of the
/// planned-fault word: a loop with no effect, the optimizer proved endless and dropped,
/// so that the fault returned at once.
func loopForever() {
  let address = unsafe withUnsafeMutablePointer(to: &faultPlanned) { UInt(bitPattern: $0) }
  let word = unsafe VolatileMappedRegister<UInt32>(unsafeBitPattern: address)
  while true { _ = word.load() }
}
