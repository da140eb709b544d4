/// Time as the stack keeps it: nanoseconds of the caller's clock, passed in as `now`
/// by every call that depends on it, so that host tests and the fuzzer set the time.

enum StackTime {
  static var millisecond: UInt64 { 1_000_000 }
  static var second: UInt64 { 1_000_000_000 }

  /// `now` plus `delay`, stopping at the clock's end rather than wrapping past it.
  static func after(_ now: UInt64, _ delay: UInt64) -> UInt64 {
    let (sum, overflow) = now.addingReportingOverflow(delay)
    return overflow ? .max : sum
  }

  /// How long from `start` to `now`; 0 if `now` is earlier.
  static func elapsed(from start: UInt64, to now: UInt64) -> UInt64 {
    now >= start ? now - start : 0
  }
}
