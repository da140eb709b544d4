/// When a crashed domain may start again: restart backoff and giving up on a crash loop,
/// after Hubris's supervisor.
///
/// A domain that crashes in its init, or within `quickCrashNanoseconds` of becoming
/// running, crashed quickly: restarting it at once would most likely only crash it
/// again, and each restart costs the machine a copy of its image and a run of its init.
/// So after the n-th quick crash in a row, a restart waits `delay(after: n)`: 50 ms, then
/// doubling up to a second, which keeps a crash loop to 20 restarts a second at most and
/// soon to one. At `crashLoopLimit` quick crashes in a row the domain is given up: it is
/// held failed until the kernel clears it (`DomainManager.restart`). A domain that ran
/// for a while before it crashed starts again at once, and its count starts over.
///
/// Restarts here are asked for by callers (`recover()`, the shadows): a restart refused
/// now answers at once, never waits, and calls meanwhile get `.unavailable`, as they do
/// from any crashed domain until it runs again.
struct RestartBackoff {
  /// A crash this soon after the domain began to run counts as quick.
  static let quickCrashNanoseconds: UInt64 = 50_000_000
  /// The wait after the first quick crash: at most 20 restarts a second.
  static let firstDelayNanoseconds: UInt64 = 50_000_000
  /// The wait never grows past this.
  static let longestDelayNanoseconds: UInt64 = 1_000_000_000
  /// Quick crashes in a row after which the domain is held failed.
  static let crashLoopLimit = 10

  /// Quick crashes since the domain last ran a while (or was cleared).
  private(set) var quickCrashes = 0
  /// When its current life began to run (its init returned); nil while it is not running.
  private(set) var runningSince: UInt64?
  /// No restart asked for before this (Clock nanoseconds) is done.
  private(set) var restartNotBefore: UInt64 = 0

  /// The domain's init returned at `now`: it runs.
  mutating func running(at now: UInt64) {
    runningSince = now
  }

  /// The domain crashed at `now` (or failed to start): whether this crash makes the
  /// limit, so that the domain must be given up.
  mutating func crashed(at now: UInt64) -> Bool {
    let quick = runningSince.map { now &- $0 < Self.quickCrashNanoseconds } ?? true
    runningSince = nil
    guard quick else {
      quickCrashes = 0
      restartNotBefore = now
      return false
    }
    quickCrashes += 1
    restartNotBefore = now &+ Self.delay(after: quickCrashes)
    return quickCrashes >= Self.crashLoopLimit
  }

  /// Whether a restart asked for at `now` may go ahead.
  func mayRestart(at now: UInt64) -> Bool { now >= restartNotBefore }

  /// Forgets the crashes: the kernel restarts the domain on purpose.
  mutating func clear() {
    quickCrashes = 0
    restartNotBefore = 0
  }

  /// The wait before restarting after `quickCrashes` quick crashes in a row (0 for none).
  static func delay(after quickCrashes: Int) -> UInt64 {
    guard quickCrashes > 0 else { return 0 }
    // Doubling from the first delay passes the longest by the sixth crash: no overflow.
    let doublings = min(quickCrashes - 1, 16)
    return min(firstDelayNanoseconds << UInt64(doublings), longestDelayNanoseconds)
  }
}
