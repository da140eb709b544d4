/// Where a split virtqueue's three parts lie in its memory, per the spec's sizes and
/// alignments: the descriptor table (16 bytes per entry, 16-aligned), the available ring
/// (flags, index, one 16-bit head per entry, `used_event`; 2-aligned) and the used ring
/// (flags, index, one id-and-length pair per entry, `avail_event`; 4-aligned), one
/// after the other.
public struct VirtQueueLayout: Equatable, Sendable {
  /// Entries in each part: a power of two from 1 to 32768.
  public let size: Int
  public let descriptorTable: Int
  public let availableRing: Int
  public let usedRing: Int
  /// Bytes from the descriptor table to the end of the used ring.
  public let byteCount: Int

  public static let descriptorBytes = 16
  public static let usedElementBytes = 8
  public static let maximumSize = 32768

  /// The layout for `size` entries, or nil if `size` is not a power of two from 1 to 32768.
  public init?(size: Int) {
    guard size > 0, size <= Self.maximumSize, size & (size - 1) == 0 else { return nil }
    self.size = size
    descriptorTable = 0
    availableRing = Self.descriptorBytes * size
    let availableEnd = availableRing + 6 + 2 * size
    usedRing = (availableEnd + 3) & ~3
    byteCount = usedRing + 6 + Self.usedElementBytes * size
  }

  /// The largest power of two not above `limit` (at least 1).
  public static func largestSize(notAbove limit: Int) -> Int {
    var size = 1
    while size * 2 <= min(limit, maximumSize) { size *= 2 }
    return size
  }

  // Offsets of the fields inside the rings.
  static let ringFlags = 0
  static let ringIndex = 2
  static let ringEntries = 4
}

/// A descriptor's flags.
enum DescriptorFlags {
  static let next: UInt16 = 1
  static let deviceWritable: UInt16 = 2
}

/// The rings' flag words: the driver asks for no interrupts, the device for no
/// notifications; both are hints, not promises.
enum RingFlags {
  static let availableNoInterrupt: UInt16 = 1
  static let usedNoNotify: UInt16 = 1
}
