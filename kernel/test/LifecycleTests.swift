/// Tests of a domain's life after crashes: a crash in init is contained, a domain that
/// crashes soon after each start is restarted later and later and then given up, and the
/// kernel can clear it (RestartBackoff, DomainManager.recover and restart).
import SwiftletInterfaces
import SwiftletLib

enum LifecycleTests {
  static var tests: [KernelTest] {
    [
      KernelTest("lifecycle.backoff_doubles_and_gives_up", backoffDoublesAndGivesUp),
      KernelTest("lifecycle.init_crash_is_contained", initCrashIsContained),
      KernelTest("lifecycle.quick_crash_backs_off", quickCrashBacksOff),
      KernelTest("lifecycle.crash_after_a_while_restarts_at_once", crashAfterAWhile),
      KernelTest("lifecycle.init_crash_loop_gives_up", initCrashLoopGivesUp),
      KernelTest("lifecycle.restart_ends_the_old_threads", restartEndsTheOldThreads),
    ]
  }

  static let millisecond: UInt64 = 1_000_000

  /// The rules alone, on a clock the test sets.
  static func backoffDoublesAndGivesUp(_ t: inout TestContext) {
    let expected: [UInt64] = [0, 50, 100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000]
    for (crashes, delay) in expected.enumerated() {
      let actual = RestartBackoff.delay(after: crashes) / millisecond
      t.expect(actual == delay, "after \(crashes) quick crashes: \(actual) ms, not \(delay)")
    }
    t.expect(RestartBackoff.delay(after: 1_000) / millisecond == 1000, "no ceiling")

    var backoff = RestartBackoff()
    var now: UInt64 = 1_000 * millisecond
    // A crash before it ever ran (in init) is quick.
    t.expect(!backoff.crashed(at: now), "gave up after one crash")
    t.expect(backoff.quickCrashes == 1, "a crash in init is not quick")
    t.expect(!backoff.mayRestart(at: now + 49 * millisecond), "restarted within 50 ms")
    t.expect(backoff.mayRestart(at: now + 50 * millisecond), "no restart after 50 ms")
    // Crashing 10 ms after each start: the waits double, and the tenth gives up.
    var gaveUp = false
    for crash in 2...RestartBackoff.crashLoopLimit {
      now += 2_000 * millisecond
      backoff.running(at: now)
      gaveUp = backoff.crashed(at: now + 10 * millisecond)
      t.expect(backoff.quickCrashes == crash, "\(backoff.quickCrashes) quick crashes, not \(crash)")
      t.expect(gaveUp == (crash == RestartBackoff.crashLoopLimit), "gave up at \(crash): \(gaveUp)")
      let wait = RestartBackoff.delay(after: crash)
      t.expect(
        !backoff.mayRestart(at: now + 10 * millisecond + wait - 1)
          && backoff.mayRestart(at: now + 10 * millisecond + wait),
        "crash \(crash) does not wait \(wait / millisecond) ms")
    }
    t.expect(gaveUp, "never gave up")
    // Cleared, then running a while before it crashes: not quick, restarted at once.
    backoff.clear()
    now += 2_000 * millisecond
    backoff.running(at: now)
    now += 50 * millisecond
    t.expect(!backoff.crashed(at: now), "gave up on a slow crash")
    t.expect(backoff.quickCrashes == 0 && backoff.mayRestart(at: now), "a slow crash backs off")
    // A quick crash after that counts from one again.
    backoff.running(at: now)
    _ = backoff.crashed(at: now + millisecond)
    t.expect(backoff.quickCrashes == 1, "the count did not start over")
  }

  /// A crash in the init of a restart is contained: the restart fails, the domain is
  /// down, the kernel and the other domains go on, and the next restart works.
  static func initCrashIsContained(_ t: inout TestContext) {
    guard let (crasher, domain) = crasher(&t) else { return }
    // Crashed first: the init then runs in a domain that was down.
    TestDomains.settle("crasher")
    t.expect(crasher.crash(.swiftTrap).error == .domainCrashed, "no crash")
    FaultPlan.arm(domain: domain.id, point: FaultPoint.initialization.rawValue, after: 1)
    defer { FaultPlan.disarm() }
    let crashes = domain.crashes
    let result = DomainManager.restart(domain)
    t.expect(!result.isSuccess, "a restart whose init crashed succeeded")
    t.expect(domain.crashes == crashes + 1, "the crash in init was not counted")
    t.expect(domain.state == .crashed, "not down after its init crashed")
    t.expect(domain.backoff.quickCrashes == 1, "a crash in init is not a quick crash")
    t.expect(crasher.echo(1).error == .unavailable, "a domain whose init crashed answered")
    guard case .success(let greeter) = GreeterProxy.connect() else { return }
    t.expect(greeter.ping().isSuccess, "hello stopped working")
    t.expect(
      DomainManager.restart(domain).isSuccess && crasher.echo(2) == .success(2),
      "the next restart failed")
  }

  /// A crash right after a start: the caller's restart is refused at once, calls get
  /// `.unavailable` at once, and after the backoff `recover()` works again.
  static func quickCrashBacksOff(_ t: inout TestContext) {
    guard let (crasher, domain) = crasher(&t),
      case .success(let shadow) = CrasherShadow.connect()
    else { return }
    _ = DomainManager.restart(domain)
    let crashedAt = Clock.nanoseconds
    t.expect(crasher.crash(.swiftTrap).error == .domainCrashed, "no crash")
    t.expect(domain.backoff.quickCrashes == 1, "a crash right after a start was not quick")
    let asked = Clock.nanoseconds
    t.expect(!crasher.recover(), "restarted while backing off")
    t.expect(crasher.echo(1).error == .unavailable, "a domain backing off answered")
    t.expect(shadow.echo(2).error == .unavailable, "the shadow did not pass the refusal on")
    let answeredIn = Clock.nanoseconds - asked
    // Well under the 50 ms a wait for the backoff would take.
    t.expect(answeredIn < 40 * millisecond, "callers waited \(answeredIn / millisecond) ms")
    t.expect(domain.state == .crashed, "the refused restarts changed its state")
    let why = text(Shell.whyDown(domain))
    t.expect(
      why.hasPrefix("crashed 1 times in a row, last: ") && contains(why, "; no restart for "),
      "'domains' says '\(why)'")
    // The backoff counts from the crash itself, a little after `crashedAt`.
    while !domain.backoff.mayRestart(at: Clock.nanoseconds) {
      Scheduler.sleep(nanoseconds: millisecond)
    }
    let waited = Clock.nanoseconds - crashedAt
    t.expect(
      waited >= RestartBackoff.delay(after: 1) && waited < 1_000 * millisecond,
      "the backoff took \(waited / millisecond) ms, not 50")
    t.expect(crasher.recover() && crasher.echo(3) == .success(3), "no restart after 50 ms")
  }

  /// A domain that ran a while before it crashed starts again at once, and its count of
  /// quick crashes starts over.
  static func crashAfterAWhile(_ t: inout TestContext) {
    guard let (crasher, domain) = crasher(&t) else { return }
    _ = DomainManager.restart(domain)
    t.expect(crasher.crash(.pageFault).error == .domainCrashed, "no crash")
    t.expect(domain.backoff.quickCrashes == 1, "a crash right after a start was not quick")
    TestDomains.settle("crasher")
    t.expect(crasher.crash(.divideError).error == .domainCrashed, "no crash")
    t.expect(domain.backoff.quickCrashes == 0, "a crash after 50 ms of running was quick")
    t.expect(crasher.recover() && crasher.echo(4) == .success(4), "not restarted at once")
  }

  /// A domain whose init crashes every time: each caller's restart waits out its backoff,
  /// and the tenth crash in a row holds it failed. Calls get `.unavailable`, restarts
  /// are refused, `domains` says why, and only the kernel's restart brings it back.
  static func initCrashLoopGivesUp(_ t: inout TestContext) {
    guard let (crasher, domain) = crasher(&t) else { return }
    TestDomains.settle("crasher")
    _ = crasher.crash(.swiftTrap)
    defer { FaultPlan.disarm() }
    var attempts = 0
    let deadline = Clock.nanoseconds + 30_000 * millisecond
    while domain.state == .crashed && Clock.nanoseconds < deadline {
      let now = Clock.nanoseconds
      guard domain.backoff.mayRestart(at: now) else {
        // Well inside the backoff (not at its very end, which may pass meanwhile), a
        // caller's restart is refused.
        if domain.backoff.restartNotBefore - now > 5 * millisecond {
          t.expect(!crasher.recover(), "a restart went ahead during the backoff")
        }
        Scheduler.sleep(nanoseconds: 5 * millisecond)
        continue
      }
      FaultPlan.arm(domain: domain.id, point: FaultPoint.initialization.rawValue, after: 1)
      t.expect(!crasher.recover(), "a restart whose init crashed succeeded")
      attempts += 1
    }
    t.expect(domain.state == .failed, "not failed after \(attempts) crashes in init")
    t.expect(
      attempts == RestartBackoff.crashLoopLimit,
      "failed after \(attempts) crashes, not \(RestartBackoff.crashLoopLimit)")
    FaultPlan.disarm()
    t.expect(!crasher.recover(), "a failed domain was restarted by a caller")
    t.expect(crasher.echo(5).error == .unavailable, "a failed domain answered")
    let why = text(Shell.whyDown(domain))
    t.expect(
      why.hasPrefix("failed: crashed \(RestartBackoff.crashLoopLimit) times in a row, last: "),
      "'domains' says '\(why)'")
    Shell.showDomains()  // for tests/qemu/test_lifecycle.py
    t.expect(DomainManager.restart(domain).isSuccess, "the kernel could not clear it")
    t.expect(
      domain.state == .running && domain.backoff.quickCrashes == 0, "not cleared by the kernel")
    t.expect(crasher.echo(6) == .success(6), "no answer once cleared")
  }

  /// The kernel restarts a running domain whose own thread sleeps in it: the thread
  /// leaves with the old life instead of waking in the new one (with a stack full of the
  /// old heap's objects).
  static func restartEndsTheOldThreads(_ t: inout TestContext) {
    guard case .success(let background) = BackgroundProxy.connect(),
      let domain = DomainManager.lookup("crasher")
    else {
      t.expect(false, "no Background")
      return
    }
    _ = DomainManager.restart(domain)
    t.expect(background.startLooper().isSuccess, "no looper")
    Scheduler.sleep(nanoseconds: 5 * millisecond)
    t.expect(DomainThreadTests.crasherThreads() == 1, "the looper is not running")
    let crashes = domain.crashes
    t.expect(DomainManager.restart(domain).isSuccess, "restart failed")
    let deadline = Clock.nanoseconds + 2_000 * millisecond
    while DomainThreadTests.crasherThreads() > 0 && Clock.nanoseconds < deadline {
      Scheduler.sleep(nanoseconds: millisecond)
    }
    t.expect(DomainThreadTests.crasherThreads() == 0, "the old life's looper goes on")
    Scheduler.sleep(nanoseconds: 5 * millisecond)
    t.expect(background.rounds() == .success(0), "the new life counts the old looper's rounds")
    t.expect(
      domain.state == .running && domain.crashes == crashes, "the restart crashed the domain")
  }

  private static func text(_ line: TextLine?) -> String {
    guard let line else { return "" }
    return String(decoding: (0..<line.count).map { line[$0] }, as: UTF8.self)
  }

  private static func contains(_ text: String, _ part: String) -> Bool {
    let text = Array(text.utf8)
    let part = Array(part.utf8)
    guard text.count >= part.count else { return false }
    return (0...(text.count - part.count)).contains { Array(text[$0..<$0 + part.count]) == part }
  }

  private static func crasher(_ t: inout TestContext) -> (CrasherProxy, Domain)? {
    guard case .success(let crasher) = CrasherProxy.connect(),
      let domain = DomainManager.lookup("crasher")
    else {
      t.expect(false, "no crasher")
      return nil
    }
    return (crasher, domain)
  }
}
