// Which memory is free to use: the memory map's available regions, less what the kernel
// must keep (its own image, the boot information, modules), in whole pages.

extension BootInfo {
  /// The parts of the available regions below `limit` that overlap none of `reserved`,
  /// shrunk to whole `pageSize` pages (a power of two), in address order.
  ///
  /// Regions are trimmed inwards and reserved ranges widened outwards to page
  /// boundaries, so no free page shares a page with anything reserved.
  public func freeRanges(
    excluding reserved: [Range<UInt64>], below limit: UInt64, pageSize: UInt64 = 4096
  ) -> [Range<UInt64>] {
    let mask = pageSize - 1
    var pieces: [Range<UInt64>] = []
    for region in memoryMap where region.kind == .available {
      guard region.start <= UInt64.max - mask else { continue }
      let start = (region.start + mask) & ~mask
      let end = min(region.end, limit) & ~mask
      if start < end { pieces.append(start..<end) }
    }
    for hole in reserved where !hole.isEmpty {
      let holeStart = hole.lowerBound & ~mask
      let holeEnd =
        hole.upperBound > UInt64.max - mask ? UInt64.max : (hole.upperBound + mask) & ~mask
      var remaining: [Range<UInt64>] = []
      for piece in pieces {
        guard holeStart < piece.upperBound && piece.lowerBound < holeEnd else {
          remaining.append(piece)
          continue
        }
        if piece.lowerBound < holeStart { remaining.append(piece.lowerBound..<holeStart) }
        if holeEnd < piece.upperBound { remaining.append(holeEnd..<piece.upperBound) }
      }
      pieces = remaining
    }
    return pieces.sorted { $0.lowerBound < $1.lowerBound }
  }
}
