/// A consistency check of the whole size-class heap, for tests and the kernel's debug
/// commands.
extension SizeClassHeap where Source: ~Copyable {
  /// Checks the large heap with `FreeListHeap.verify`, then walks every slab list and
  /// returns false if anything is inconsistent: a slab whose header has a bad tag, names
  /// another class, or counts objects in use other than its bitmap does; a slab on the
  /// wrong list for its count, or overlapping a large region; lists whose links do not
  /// agree both ways; or statistics that disagree with the slabs.
  ///
  /// Each list is walked for at most as many slabs as the heap holds, so a list that loops
  /// gives false rather than a hang.
  public func verify() -> Bool {
    guard large.verify() else { return false }
    var tally = SlabTally(budget: slabCount)
    for index in 0..<SizeClass.count {
      let sizeClass = SizeClass(index: index).unsafelyUnwrapped
      let lists = slabs[index]
      let capacity = sizeClass.objectsPerSlab
      guard lists.cached?.next == nil,
        tally.walk(lists.partial, of: sizeClass, inUse: 1..<capacity, besides: large),
        tally.walk(lists.full, of: sizeClass, inUse: capacity..<capacity + 1, besides: large),
        tally.walk(lists.cached, of: sizeClass, inUse: 0..<1, besides: large)
      else { return false }
    }
    return tally.slabs == slabCount
      && tally.bytesInUse == smallBytesInUse
      && tally.objectsInUse == smallLiveAllocations
      && peakBytesInUse >= statistics.bytesInUse
  }
}

/// What `verify` has seen of the slabs so far.
private struct SlabTally {
  /// How many more slabs there can be.
  var budget: Int
  var slabs = 0
  var bytesInUse = 0
  var objectsInUse = 0

  /// Walks the list starting at `head`, whose slabs should all be of `sizeClass` with a
  /// count of objects in use in `inUse`, and clear of the regions of `large`. Returns
  /// false at the first slab that is not.
  mutating func walk(
    _ head: Slab?, of sizeClass: SizeClass, inUse: Range<Int>, besides large: borrowing FreeListHeap
  ) -> Bool {
    var previous: Slab? = nil
    var next = head
    while let slab = next {
      guard budget > 0, slab.isTagged, slab.sizeClass == sizeClass, slab.previous == previous,
        inUse.contains(slab.inUse)
      else { return false }
      let bitmap = slab.bitmapCount(below: sizeClass.objectsPerSlab)
      guard bitmap.inUse == slab.inUse, !bitmap.beyond else { return false }
      for index in 0..<large.regionCount where slab.overlaps(large.regions[index]) {
        return false
      }
      budget -= 1
      slabs += 1
      objectsInUse += slab.inUse
      bytesInUse += slab.inUse * sizeClass.objectSize
      previous = slab
      next = slab.next
    }
    return true
  }
}
