/// A small seeded generator (xorshift64*): the fault campaign's one source of choices,
/// so that a run's seed replays it.
struct SeededRandom {
  private var state: UInt64

  /// A seed of 0 is taken as 1 (xorshift's state must not be 0).
  init(seed: UInt64) { state = seed == 0 ? 1 : seed }

  mutating func next() -> UInt64 {
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    return state &* 0x2545_F491_4F6C_DD1D
  }

  /// A number in 0 ..< bound (bound > 0); the modulo bias is below 2^-40 for the bounds
  /// used here.
  mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }

  /// An index into a non-empty collection of `count` elements.
  mutating func index(_ count: Int) -> Int { Int(below(UInt64(count))) }
}
