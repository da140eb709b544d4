/// Fails on request, in every way the kernel must contain: safe Swift traps itself;
/// the hardware faults come from the trusted FaultInjection library.
import SwiftletInterfaces
import SwiftletLib

final class CrasherService: Crasher {
  private var served = 0

  func crash(_ kind: CrashKind) -> Result<Void, RpcError> {
    served += 1
    switch kind {
    case .swiftTrap:
      let big = Int.max - served + 1
      served = big + served  // overflows: a Swift runtime trap
    case .pageFault:
      FaultInjection.pageFault()
    case .generalProtection:
      FaultInjection.generalProtection()
    case .divideError:
      FaultInjection.divideError()
    case .stackOverflow:
      _ = descend(served)
    case .hang:
      while served > 0 { served = served &+ 1 | 1 }
    }
    return .success(())
  }

  func echo(_ value: Int) -> Result<Int, RpcError> {
    served += 1
    return .success(value)
  }

  func callsServed() -> Result<Int, RpcError> { .success(served) }

  /// Recursion with no end the optimizer can see.
  private func descend(_ depth: Int) -> Int {
    if depth == Int.min { return 0 }
    var frame = InlineArray<32, Int>(repeating: depth)
    frame[depth & 31] = descend(depth &+ 1)
    return frame[0] &+ frame[depth & 31]
  }
}
