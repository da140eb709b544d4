/// Faults on purpose, for the crash tests: the kinds safe Swift cannot cause itself.
///
/// Trusted code, so the crasher domain (domains/crasher) stays safe Swift: it asks
/// for a fault and this raises it, in the domain, exactly as a bug would.
@_extern(c, "swiftlet_fault")
func kernelFault(_ kind: Int)

@_extern(c, "swiftlet_fault_checkpoint")
func kernelFaultCheckpoint(_ point: Int) -> Bool

public enum FaultInjection {
  /// A write to an address no page maps.
  public static func pageFault() { kernelFault(1) }
  /// A read from a non-canonical address.
  public static func generalProtection() { kernelFault(2) }
  /// A `div` by zero in the CPU.
  public static func divideError() { kernelFault(3) }

  /// A point in a domain's code where a test may plan a crash (kernel/domains/
  /// SystemInterface.swift, FaultPlan). Passing it does nothing unless a test armed it
  /// for this domain; then it traps here, which the kernel contains like any crash.
  public static func checkpoint(_ point: FaultPoint) {
    if kernelFaultCheckpoint(point.rawValue) {
      preconditionFailure("a crash planned by a test (fault injection)")
    }
  }
}

/// The named points tests can crash a domain at.
public enum FaultPoint: Int, BitwiseCopyable, Sendable, CaseIterable {
  /// In a block driver, with a batch of requests submitted to the device and not all
  /// of them complete.
  case blockBatchInFlight = 1
  /// In a NIC driver, taking received frames from the device, with empty buffers
  /// posted to it.
  case frameReceive = 2
  /// In a NIC driver, with frames handed to the device and not all sent.
  case frameTransmit = 3
  /// In the network stack, working through a batch of received frames.
  case stackInput = 4
  /// In a domain's init (the crasher's, for the crash-loop tests): each time the domain
  /// is started, until its init returns.
  case domainInit = 5

  /// Its name in the shell's `fault` command.
  public var name: StaticString {
    switch self {
    case .blockBatchInFlight: "block-batch"
    case .frameReceive: "frame-receive"
    case .frameTransmit: "frame-transmit"
    case .stackInput: "stack-input"
    case .domainInit: "init"
    }
  }
}
