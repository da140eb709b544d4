/// Tests of faults the campaign plans (FaultPlan): an endless loop planned at a
/// checkpoint is ended by the watchdog wherever the calling thread is, in a call or in
/// a restart's init.
import SwiftletInterfaces
import SwiftletLib

enum FaultTests {
  static var tests: [KernelTest] {
    [
      KernelTest("faults.loop_in_a_call_from_a_worker_ends", loopInACallFromAWorker),
      KernelTest("faults.loop_in_init_ends", loopInInit),
    ]
  }

  static let millisecond: UInt64 = 1_000_000

  /// Connects to a settled crasher and plans an endless loop at `point` in it; nil
  /// (and a failed expectation) when there is no crasher.
  static func armLoop(at point: FaultPoint, _ t: inout TestContext) -> CrasherProxy? {
    guard case .success(let crasher) = CrasherProxy.connect(),
      let domain = DomainManager.lookup("crasher")
    else {
      t.expect(false, "no Crasher")
      return nil
    }
    TestDomains.settle("crasher")
    FaultPlan.arm(PlannedFault(domain: domain.id, kind: .infiniteLoop, point: point))
    return crasher
  }

  /// A low-priority kernel thread with a small stack (as the campaign's workers) calls
  /// into a loop planned at the crasher's method: the call ends at its budget.
  static func loopInACallFromAWorker(_ t: inout TestContext) {
    guard let crasher = armLoop(at: .demoCall, &t) else { return }
    defer { FaultPlan.disarm() }
    nonisolated(unsafe) var result: Result<Int, RpcError>? = nil
    let start = Clock.nanoseconds
    _ = Scheduler.spawn("loop caller", priority: .low) {
      guard case .success(let caller) = CrasherProxy.connect() else { return }
      result = caller.echo(11)
    }
    while result == nil && Clock.nanoseconds - start < 3_000 * millisecond {
      Scheduler.sleep(nanoseconds: millisecond)
    }
    let elapsed = (Clock.nanoseconds - start) / millisecond
    t.expect(
      result?.error == .timedOut,
      "the looping call ended with \(result.map { DomainTests.describe($0) } ?? "nothing yet")")
    t.expect(elapsed < 1_000, "it took \(elapsed) ms, past the crasher's budget")
    t.expect(crasher.recover() && crasher.echo(12) == .success(12), "no answer after restart")
  }

  /// A loop planned in init: the restart ends at the budget, as a failed restart, and
  /// the next one works.
  static func loopInInit(_ t: inout TestContext) {
    guard let crasher = armLoop(at: .initialization, &t),
      let domain = DomainManager.lookup("crasher")
    else { return }
    defer { FaultPlan.disarm() }
    let start = Clock.nanoseconds
    let restarted = DomainManager.restart(domain).isSuccess
    let elapsed = (Clock.nanoseconds - start) / millisecond
    t.expect(!restarted, "a restart whose init loops succeeded")
    t.expect(elapsed < 1_500, "the looping init took \(elapsed) ms")
    FaultPlan.disarm()
    t.expect(
      DomainManager.restart(domain).isSuccess && crasher.echo(13) == .success(13),
      "the next restart failed")
  }
}
