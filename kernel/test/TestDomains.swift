/// Helpers for tests that crash domains on purpose: getting them back, and letting them
/// run long enough that a caller's `recover()` restarts them at once.
///
/// A crash soon after a start is a quick crash, and a caller's restart then waits
/// (RestartBackoff): tests that crash a domain one after another would find it backing off.
/// A test that wants a crashed domain back for what follows restarts it as the kernel
/// does; a test of `recover()` itself lets the domain settle before crashing it.
enum TestDomains {
  /// Restarts `name` at once, as the kernel does (no backoff; a failed domain cleared).
  @discardableResult
  static func restart(_ name: String) -> Bool {
    guard let domain = DomainManager.lookup(name) else { return false }
    return DomainManager.restart(domain).isSuccess
  }

  /// Waits until `name` has run long enough that a crash now is not quick, restarting it
  /// first if it is down.
  static func settle(_ name: String) {
    guard let domain = DomainManager.lookup(name) else { return }
    if domain.state != .running { _ = DomainManager.restart(domain) }
    while domain.state == .running, let since = domain.backoff.runningSince,
      Clock.nanoseconds &- since < RestartBackoff.quickCrashNanoseconds
    {
      Scheduler.sleep(nanoseconds: 1_000_000)
    }
  }
}
