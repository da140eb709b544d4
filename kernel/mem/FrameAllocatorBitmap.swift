/// The bit arrays behind `FrameAllocator`: one bit per frame, read and written 64 at a time.
///
/// A bitmap does not own its words; the allocator lays its two bitmaps out in the memory
/// its caller provides. Bits past the last frame in the last word stay clear, so a scan
/// for set bits never finds a frame that does not exist.
extension FrameAllocator {
  struct Bitmap {
    static let bitsPerWord = 64

    /// The words, `wordCount` of them; bit `i % 64` of word `i / 64` is bit `i`.
    let words: UnsafeMutablePointer<UInt64>
    let wordCount: Int

    /// Words enough for `bits` bits.
    static func wordCount(forBits bits: Int) -> Int {
      bits / bitsPerWord + (bits % bitsPerWord == 0 ? 0 : 1)
    }

    subscript(bit: Int) -> Bool {
      words[bit / Self.bitsPerWord] & (1 << UInt64(bit % Self.bitsPerWord)) != 0
    }

    /// Sets or clears every bit in `bits`.
    func set(_ bits: Range<Int>, to value: Bool) {
      Self.forEachWord(in: bits) { word, mask in
        if value {
          words[word] |= mask
        } else {
          words[word] &= ~mask
        }
      }
    }

    /// How many of `bits` are set.
    func countSet(in bits: Range<Int>) -> Int {
      var count = 0
      Self.forEachWord(in: bits) { word, mask in
        count += (words[word] & mask).nonzeroBitCount
      }
      return count
    }

    /// The lowest set bit in `bits`, if any.
    func firstSet(in bits: Range<Int>) -> Int? {
      firstBit(in: bits, inverted: false)
    }

    /// The lowest clear bit in `bits`, if any.
    func firstClear(in bits: Range<Int>) -> Int? {
      firstBit(in: bits, inverted: true)
    }

    private func firstBit(in bits: Range<Int>, inverted: Bool) -> Int? {
      guard !bits.isEmpty else { return nil }
      for word in Self.words(covering: bits) {
        let value = inverted ? ~words[word] : words[word]
        let found = value & Self.mask(of: bits, inWord: word)
        if found != 0 {
          return word * Self.bitsPerWord + found.trailingZeroBitCount
        }
      }
      return nil
    }

    /// Calls `body` with each word that `bits` touches and the mask of `bits` within it.
    static func forEachWord(in bits: Range<Int>, _ body: (Int, UInt64) -> Void) {
      guard !bits.isEmpty else { return }
      for word in words(covering: bits) {
        body(word, mask(of: bits, inWord: word))
      }
    }

    /// The words holding the bits of `bits`, which is not empty.
    private static func words(covering bits: Range<Int>) -> ClosedRange<Int> {
      (bits.lowerBound / bitsPerWord)...((bits.upperBound - 1) / bitsPerWord)
    }

    /// The bits of `bits` that fall in `word`, as a mask of that word.
    private static func mask(of bits: Range<Int>, inWord word: Int) -> UInt64 {
      let first = word * bitsPerWord
      let low = max(bits.lowerBound, first) - first
      let high = min(bits.upperBound, first + bitsPerWord) - first
      // `high` is 1...64 and `low` is 0...63, so neither shift reaches the word's width.
      return (UInt64.max >> UInt64(bitsPerWord - high)) & (UInt64.max << UInt64(low))
    }
  }
}
