/// A consistency check of the whole heap, for tests and the kernel's debug commands.
extension FreeListHeap {
  /// Walks every block of every region and the free list, and returns false if anything
  /// is inconsistent: a header with a bad tag or size, two free blocks side by side (they
  /// should have merged), a free list that is out of address order or does not name
  /// exactly the free blocks, or statistics that disagree with the blocks.
  ///
  /// Each header is checked before the walk trusts it, so a corrupted heap gives false
  /// rather than a fault, as long as the corruption stays inside the regions.
  public func verify() -> Bool {
    var blocksInUse = 0
    var bytesInUse: UInt = 0
    var capacity: UInt = 0
    // The free list is in address order and so is the walk (the regions are kept sorted),
    // so each free block the walk meets must be the next one in the list.
    var nextListed = firstFree
    for index in 0..<regionCount {
      let region = regions[index]
      capacity += region.size
      var address = region.start
      var previousWasFree = false
      while address < region.end {
        let block = HeapBlock(address: address)
        guard block.hasPlausibleSize(in: region) else { return false }
        if block.isInUse {
          blocksInUse += 1
          bytesInUse += block.size
          previousWasFree = false
        } else if block.isFree {
          guard !previousWasFree, nextListed?.address == block.address else { return false }
          nextListed = block.nextFree
          previousWasFree = true
        } else {
          return false
        }
        address = block.end
      }
    }
    return nextListed == nil
      && blocksInUse == statistics.liveAllocations
      && bytesInUse == UInt(statistics.bytesInUse)
      && capacity == UInt(statistics.capacity)
      && statistics.peakBytesInUse >= statistics.bytesInUse
  }
}
