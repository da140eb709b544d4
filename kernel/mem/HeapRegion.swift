/// A stretch of memory given to the heap, its ends rounded inwards to whole blocks.
///
/// Regions are kept apart: blocks never span two of them, even when one ends where the
/// next begins, so each region can be walked block by block from its start.
struct HeapRegion {
  let start: UInt
  let end: UInt

  var size: UInt { end - start }

  func contains(_ address: UInt) -> Bool {
    start <= address && address < end
  }

  func overlaps(_ other: HeapRegion) -> Bool {
    start < other.end && other.start < end
  }
}

extension UInt {
  /// The smallest multiple of `alignment` (a power of two) not below this, or nil if it
  /// does not fit in a UInt.
  func roundedUp(toMultipleOf alignment: UInt) -> UInt? {
    let (sum, overflow) = addingReportingOverflow(alignment - 1)
    return overflow ? nil : sum & ~(alignment - 1)
  }

  /// The largest multiple of `alignment` (a power of two) not above this.
  func roundedDown(toMultipleOf alignment: UInt) -> UInt {
    self & ~(alignment - 1)
  }
}
