/// Faults on purpose, for the crash tests: the kinds safe Swift cannot cause itself.
///
/// Trusted code, so the crasher domain (domains/crasher) stays safe Swift: it asks
/// for a fault and this raises it, in the domain, exactly as a bug would.
@_extern(c, "swiftlet_fault")
func kernelFault(_ kind: Int)

public enum FaultInjection {
  /// A write to an address no page maps.
  public static func pageFault() { kernelFault(1) }
  /// A read from a non-canonical address.
  public static func generalProtection() { kernelFault(2) }
  /// A `div` by zero in the CPU.
  public static func divideError() { kernelFault(3) }
}
