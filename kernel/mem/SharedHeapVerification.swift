/// A consistency check of the shared heap's registry, for tests and the kernel's debug
/// commands.
extension SharedHeap {
  /// Walks the list of live allocations and returns false if anything is inconsistent: a
  /// header outside the regions' span, with a bad magic, padding or size, a back link that
  /// does not match, an orphan nobody borrows (it should have been freed), counters or
  /// owners' charges that disagree with the list, or a backing heap that fails its own
  /// check or holds blocks that are not on the list.
  ///
  /// Each header is checked before the walk follows its link, and the walk stops after as
  /// many steps as there should be allocations, so a corrupted registry gives false rather
  /// than a fault or a loop, as long as the corruption stays inside the regions.
  public func verify() -> Bool {
    var counted = SharedOwnerStatistics()
    var orphaned = SharedOwnerStatistics()
    let charged = SharedHeapAccounts()
    var expectedPrevious: UInt = 0
    var payload = newest
    while payload != 0 {
      guard counted.allocations < liveCounts.allocations, bounds.contains(payload) else {
        return false
      }
      let header = SharedHeader(payload: payload)
      guard header.hasMagic(bounds.secret), header.hasPlausibleLayout,
        header.previous == expectedPrevious
      else { return false }
      counted.allocations += 1
      counted.bytes += header.size
      if header.isOrphaned {
        guard header.borrows > 0 else { return false }
        orphaned.allocations += 1
        orphaned.bytes += header.size
      } else {
        charged.charge(DomainOwner(header.owner), header.charge)
      }
      expectedPrevious = payload
      payload = header.next
    }
    return counted == liveCounts && orphaned == orphanCounts && charged.matches(accounts)
      && heap.statistics.liveAllocations == liveCounts.allocations && heap.verify()
  }
}
