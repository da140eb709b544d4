/// A domain's log lines, rate-limited, so that a domain cannot flood the console (and slow
/// everything else that writes to it).
///
/// A token bucket: a burst of `burst` lines goes out at once, then `perSecond` a second.
/// A line over the limit is dropped and counted; the next line that goes out is preceded by
/// one saying how many were dropped (swiftlet_log prints it).
struct LogRateLimit {
  static let burst = 20
  static let perSecond = 10
  /// A token, in the thousandths the bucket counts in so that a refill needs no fractions.
  private static let token = 1000
  private static let nanosecondsPerMilliToken: UInt64 = 1_000_000 / UInt64(perSecond)

  private var milliTokens = burst * token
  /// Up to when, in `Clock.nanoseconds`, time has been turned into tokens.
  private var refilledUntil: UInt64 = 0
  /// Lines dropped since the last one that went out.
  private(set) var pending = 0
  /// Lines dropped, ever.
  private(set) var dropped = 0

  /// Whether a line written at `now` goes out: nil if it is dropped, else how many lines
  /// were dropped before it (to be reported first).
  mutating func admit(now: UInt64) -> Int? {
    refill(now)
    guard milliTokens >= Self.token else {
      pending += 1
      dropped += 1
      return nil
    }
    milliTokens -= Self.token
    defer { pending = 0 }
    return pending
  }

  private mutating func refill(_ now: UInt64) {
    guard now > refilledUntil else { return }
    let gained = (now - refilledUntil) / Self.nanosecondsPerMilliToken
    let full = Self.burst * Self.token
    if gained >= UInt64(full - milliTokens) {
      milliTokens = full
      refilledUntil = now
    } else {
      // Only the time turned into whole thousandths is used up; the rest counts next time.
      milliTokens += Int(gained)
      refilledUntil += gained * Self.nanosecondsPerMilliToken
    }
  }
}
