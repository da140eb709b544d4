/// Tests of the split virtqueue on its own: layout, descriptor chains, the free list,
/// publishing, 16-bit index wrap-around, and devices that break the protocol.
import Registers
import Testing
import Virtio

private func makeQueue(size: Int = 8, address: UInt64 = 0x10_0000) throws
  -> VirtQueue<ArrayDMAMemory>
{
  let layout = try #require(VirtQueueLayout(size: size))
  return try VirtQueue(
    size: size, memory: ArrayDMAMemory(byteCount: layout.byteCount, deviceAddress: address))
}

/// `length` bytes at device address `address`, as the trusted library would vouch for.
private func at(_ address: UInt64, _ length: Int = 1) -> DMARegion {
  DMARegion(vouchedAddress: address, byteCount: length)
}

struct VirtQueueLayoutTests {
  @Test func partsFollowTheSpecSizesAndAlignments() throws {
    let layout = try #require(VirtQueueLayout(size: 256))
    #expect(layout.descriptorTable == 0)
    #expect(layout.availableRing == 4096)
    #expect(layout.usedRing == 4096 + 6 + 512 + 2)
    #expect(layout.usedRing % 4 == 0)
    #expect(layout.byteCount == layout.usedRing + 6 + 2048)
    let one = try #require(VirtQueueLayout(size: 1))
    #expect(one.availableRing == 16)
    #expect(one.usedRing == 24)
    #expect(one.byteCount == 38)
  }

  @Test(arguments: [0, 3, 6, 100, 65536, -8])
  func sizesThatAreNotPowersOfTwoUpTo32768AreRefused(size: Int) {
    #expect(VirtQueueLayout(size: size) == nil)
  }

  @Test func theLargestSizeNotAboveALimitIsAPowerOfTwo() {
    #expect(VirtQueueLayout.largestSize(notAbove: 100) == 64)
    #expect(VirtQueueLayout.largestSize(notAbove: 256) == 256)
    #expect(VirtQueueLayout.largestSize(notAbove: 0) == 1)
    #expect(VirtQueueLayout.largestSize(notAbove: 1 << 20) == 32768)
  }
}

struct VirtQueueTests {
  @Test func newQueueZeroesItsRingsAndGivesTheirAddresses() throws {
    let layout = try #require(VirtQueueLayout(size: 8))
    let memory = ArrayDMAMemory(byteCount: 16 + layout.byteCount + 16, deviceAddress: 0x5000)
    memory.write([UInt8](repeating: 0xAA, count: memory.byteCount), at: 0)
    let queue = try VirtQueue(size: 8, memory: memory, offset: 16)
    #expect(memory.bytes[16..<16 + layout.byteCount].allSatisfy { $0 == 0 })
    #expect(memory.bytes[0..<16].allSatisfy { $0 == 0xAA })
    #expect(queue.descriptorTableRegion == at(0x5010, 16 * 8))
    #expect(queue.availableRingRegion == at(0x5010 + UInt64(layout.availableRing), 6 + 2 * 8))
    #expect(queue.usedRingRegion == at(0x5010 + UInt64(layout.usedRing), 6 + 8 * 8))
    #expect(queue.freeCount == 8)
  }

  @Test func memoryTooSmallOrMisalignedIsRefused() throws {
    let layout = try #require(VirtQueueLayout(size: 8))
    #expect(
      throws: VirtQueueError.memoryUnusable(
        needed: layout.byteCount, available: layout.byteCount - 1)
    ) {
      try VirtQueue(
        size: 8, memory: ArrayDMAMemory(byteCount: layout.byteCount - 1, deviceAddress: 0))
    }
    #expect(
      throws: VirtQueueError.memoryUnusable(needed: layout.byteCount, available: layout.byteCount)
    ) {
      try VirtQueue(
        size: 8, memory: ArrayDMAMemory(byteCount: layout.byteCount, deviceAddress: 8))
    }
    #expect(throws: VirtQueueError.invalidSize(12)) {
      try VirtQueue(size: 12, memory: ArrayDMAMemory(byteCount: 4096, deviceAddress: 0))
    }
  }

  @Test func aChainIsWrittenInOrderAndShownOnlyWhenPublished() throws {
    let queue = try makeQueue()
    var device = RingDevice(queue)
    let id = try queue.add([
      .readable(at(0x1000, 16)), .writable(at(0x2000, 4096)), .writable(at(0x3000, 1)),
    ])
    #expect(queue.freeCount == 5)
    #expect(device.publishedIndex == 0)
    #expect(device.takeAvailable().isEmpty)
    #expect(queue.publish())
    #expect(device.takeAvailable() == [id])
    let chain = device.chain(id)
    #expect(chain.map(\.address) == [0x1000, 0x2000, 0x3000])
    #expect(chain.map(\.length) == [16, 4096, 1])
    #expect(chain.map(\.flags) == [1, 3, 2])
    #expect(Set([id] + chain.dropLast().map(\.next)).count == 3)
    #expect(!queue.publish())
  }

  @Test func completionsFreeTheirDescriptorsForReuse() throws {
    let queue = try makeQueue(size: 8)
    var device = RingDevice(queue)
    var ids: [UInt16] = []
    for index in 0..<4 {
      ids.append(try queue.add([.readable(at(UInt64(index), 1)), .writable(at(0x100, 8))]))
    }
    #expect(Set(ids).count == 4)
    #expect(queue.freeCount == 0)
    #expect(queue.nextID == nil)
    #expect(throws: VirtQueueError.full(needed: 1, free: 0)) {
      try queue.add([.readable(at(0, 1))])
    }
    _ = queue.publish()
    #expect(device.takeAvailable() == ids)
    // Out of order, and with lengths up to what the chain may take.
    for (id, length) in [(ids[2], 8), (ids[0], 0), (ids[3], 3)] {
      device.use(UInt32(id), length: UInt32(length))
    }
    #expect(try queue.nextUsed() == UsedChain(id: ids[2], length: 8))
    #expect(try queue.nextUsed() == UsedChain(id: ids[0], length: 0))
    #expect(try queue.nextUsed() == UsedChain(id: ids[3], length: 3))
    #expect(try queue.nextUsed() == nil)
    #expect(queue.chainsInFlight == 1)
    // Used chains keep their descriptors until the driver releases them.
    #expect(queue.freeCount == 0)
    for id in [ids[2], ids[0], ids[3]] { queue.release(id) }
    #expect(queue.freeCount == 6)
    // The freed descriptors make one long chain, all distinct.
    let long = try queue.add((0..<6).map { .readable(at(UInt64($0), 1)) })
    _ = queue.publish()
    #expect(device.takeAvailable() == [long])
    let chain = device.chain(long)
    #expect(chain.map(\.address) == [0, 1, 2, 3, 4, 5])
    #expect(Set([long] + chain.dropLast().map(\.next)).count == 6)
    #expect(!Set([long] + chain.dropLast().map(\.next)).contains(ids[1]))
  }

  @Test func aReleasedIDIsReusedLast() throws {
    let queue = try makeQueue(size: 8)
    var device = RingDevice(queue)
    let first = try queue.add([.readable(at(0))])
    let second = try queue.add([.readable(at(1))])
    _ = queue.publish()
    _ = device.takeAvailable()
    device.use(UInt32(first))
    #expect(try queue.nextUsed()?.id == first)
    queue.release(first)
    // Six descriptors were never used: they all go out before the released one.
    var next: [UInt16] = []
    for index in 0..<6 { next.append(try queue.add([.readable(at(UInt64(index)))])) }
    #expect(!next.contains(first) && !next.contains(second))
    #expect(try queue.add([.readable(at(9))]) == first)
  }

  @Test func releasingAChainTheDeviceHoldsTraps() async {
    await #expect(processExitsWith: .failure) {
      let layout = VirtQueueLayout(size: 8)!
      let queue = try VirtQueue(
        size: 8, memory: ArrayDMAMemory(byteCount: layout.byteCount, deviceAddress: 0))
      queue.release(try queue.add([.readable(DMARegion(vouchedAddress: 0, byteCount: 1))]))
    }
  }

  @Test func malformedChainsAreRefusedWithoutChangingTheQueue() throws {
    let queue = try makeQueue()
    #expect(throws: VirtQueueError.emptyChain) { try queue.add([VirtQueueBuffer]()) }
    #expect(throws: VirtQueueError.readableAfterWritable) {
      try queue.add([.writable(at(0, 1)), .readable(at(0, 1))])
    }
    #expect(throws: VirtQueueError.readableAfterWritable) {
      try queue.add([.writable(at(0, 0)), .readable(at(0, 1))])
    }
    #expect(throws: VirtQueueError.chainTooLong) {
      try queue.add([.writable(at(0, Int(UInt32.max))), .writable(at(0, 1))])
    }
    #expect(throws: VirtQueueError.chainTooLong) {
      try queue.add([.readable(at(0, Int(UInt32.max) + 1))])
    }
    #expect(throws: VirtQueueError.full(needed: 9, free: 8)) {
      try queue.add((0..<9).map { _ in .readable(at(0, 1)) })
    }
    #expect(queue.freeCount == 8)
    #expect(!queue.publish())
  }

  @Test func indicesWrapAroundSixteenBits() throws {
    let queue = try makeQueue(size: 4)
    var device = RingDevice(queue)
    var rounds = 0
    // 70 000 chains through 4 entries: both free-running indices wrap past 65535.
    while rounds < 70_000 {
      let batch = (0..<3).map { _ in try? queue.add([.writable(at(UInt64(rounds), 64))]) }
      #expect(batch.allSatisfy { $0 != nil })
      _ = queue.publish()
      let heads = device.takeAvailable()
      #expect(heads == batch.compactMap { $0 })
      for head in heads.reversed() { device.use(UInt32(head), length: 64) }
      var completed = 0
      while let used = try queue.nextUsed() {
        #expect(used.length == 64)
        queue.release(used.id)
        completed += 1
      }
      #expect(completed == 3)
      rounds += 3
      if completed != 3 { break }
    }
    #expect(device.publishedIndex == UInt16(truncatingIfNeeded: rounds))
    #expect(queue.freeCount == 4)
  }

  @Test func publishHonoursTheDevicesRequestForNoNotifications() throws {
    let queue = try makeQueue()
    let device = RingDevice(queue)
    device.setNoNotify(true)
    try queue.add([.readable(at(0, 1))])
    #expect(!queue.publish())
    #expect(device.publishedIndex == 1)
    device.setNoNotify(false)
    try queue.add([.readable(at(0, 1))])
    #expect(queue.publish())
  }

  @Test func suppressingInterruptsSetsTheAvailableRingFlag() throws {
    let queue = try makeQueue()
    let device = RingDevice(queue)
    queue.suppressesInterrupts = true
    #expect(device.availableFlags == 1)
    queue.suppressesInterrupts = false
    #expect(device.availableFlags == 0)
  }
}

struct MisbehavingDeviceTests {
  /// A queue with two single-buffer chains published, and the device that took them.
  private func queueInFlight() throws -> (VirtQueue<ArrayDMAMemory>, RingDevice, [UInt16]) {
    let queue = try makeQueue()
    var device = RingDevice(queue)
    let ids = [
      try queue.add([.writable(at(0x1000, 512))]),
      try queue.add([.readable(at(0x2000, 8))]),
    ]
    _ = queue.publish()
    _ = device.takeAvailable()
    return (queue, device, ids)
  }

  @Test func anIDBeyondTheTableIsAnError() throws {
    var (queue, device, _) = try queueInFlight()
    device.use(8)
    #expect(throws: VirtQueueError.deviceMisbehaved(.usedIDOutOfRange(8))) {
      try queue.nextUsed()
    }
    // The queue stays failed: nothing more goes in or comes out.
    #expect(throws: VirtQueueError.deviceMisbehaved(.usedIDOutOfRange(8))) {
      try queue.add([.readable(at(0, 1))])
    }
    #expect(throws: VirtQueueError.deviceMisbehaved(.usedIDOutOfRange(8))) {
      try queue.nextUsed()
    }
  }

  @Test func anIDNotInFlightIsAnError() throws {
    var (queue, device, ids) = try queueInFlight()
    device.use(UInt32(ids[0]), length: 1)
    device.use(UInt32(ids[0]), length: 1)
    #expect(try queue.nextUsed() == UsedChain(id: ids[0], length: 1))
    #expect(throws: VirtQueueError.deviceMisbehaved(.usedIDNotInFlight(ids[0]))) {
      try queue.nextUsed()
    }
  }

  @Test func aDescriptorInsideAChainIsNotInFlightAsAnID() throws {
    let queue = try makeQueue()
    var device = RingDevice(queue)
    let head = try queue.add([.readable(at(0, 1)), .writable(at(0, 1))])
    _ = queue.publish()
    let second = device.chain(head)[0].next
    device.use(UInt32(second))
    #expect(throws: VirtQueueError.deviceMisbehaved(.usedIDNotInFlight(second))) {
      try queue.nextUsed()
    }
  }

  @Test func aLengthBeyondTheWritableBuffersIsAnError() throws {
    var (queue, device, ids) = try queueInFlight()
    device.use(UInt32(ids[1]), length: 1)
    #expect(
      throws: VirtQueueError.deviceMisbehaved(
        .usedLengthTooLong(id: ids[1], length: 1, writable: 0))
    ) {
      try queue.nextUsed()
    }
  }

  @Test func aCorruptedUsedEntryIsRefusedAsTheDevicesOwnWouldBe() throws {
    var (queue, device, ids) = try queueInFlight()
    queue.corruptNextUsed()  // nothing there yet: nothing happens
    device.use(UInt32(ids[0]), length: 4)
    queue.corruptNextUsed()  // at used index 0: the id
    #expect(throws: VirtQueueError.deviceMisbehaved(.usedIDOutOfRange(8))) {
      try queue.nextUsed()
    }

    var (other, otherDevice, otherIDs) = try queueInFlight()
    otherDevice.use(UInt32(otherIDs[1]))
    otherDevice.use(UInt32(otherIDs[0]), length: 4)
    #expect(try other.nextUsed() == UsedChain(id: otherIDs[1], length: 0))
    other.corruptNextUsed()  // at used index 1: the length
    #expect(
      throws: VirtQueueError.deviceMisbehaved(
        .usedLengthTooLong(id: otherIDs[0], length: .max, writable: 512))
    ) {
      try other.nextUsed()
    }
  }

  @Test func aUsedIndexPastTheChainsInFlightIsAnError() throws {
    var (queue, device, _) = try queueInFlight()
    device.setUsedIndex(3)
    #expect(throws: VirtQueueError.deviceMisbehaved(.usedIndexTooFar(advance: 3, inFlight: 2))) {
      try queue.nextUsed()
    }
  }

  @Test func garbageInTheSharedDescriptorTableChangesNothingTheDriverBelieves() throws {
    var (queue, device, ids) = try queueInFlight()
    // The device scribbles over every descriptor's next link and flags.
    for index in 0..<8 { device.memory.store32(0xFFFF_FFFF, at: 16 * index + 12) }
    device.use(UInt32(ids[0]), length: 512)
    device.use(UInt32(ids[1]))
    #expect(try queue.nextUsed() == UsedChain(id: ids[0], length: 512))
    #expect(try queue.nextUsed() == UsedChain(id: ids[1], length: 0))
    queue.release(ids[0])
    queue.release(ids[1])
    #expect(queue.freeCount == 8)
    let all = try queue.add((0..<8).map { .readable(at(UInt64($0), 1)) })
    #expect(queue.freeCount == 0)
    _ = all
  }
}
