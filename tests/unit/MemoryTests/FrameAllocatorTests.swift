/// Tests of `FrameAllocator`: sizing its bitmap, single and contiguous allocations, the
/// errors it reports, reservations, and a long random mix of all of them.
///
/// The "physical addresses" are plain numbers; only the bitmap is host memory.
import Memory
import Testing

struct FrameAllocatorTests {
  /// Three ranges out of order, with a one-frame hole, a larger hole and a gap that the
  /// bitmap still covers: 11 frames from 0x1000 to 0x10_8000.
  static let holey: [Range<UInt64>] = [0x10_0000..<0x10_8000, 0x1000..<0x3000, 0x4000..<0x5000]

  // MARK: Sizing and building

  @Test func bitmapBytesIsTwoBitsPerFrameOfTheSpanInWholeWords() {
    #expect(FrameAllocator.bitmapBytes(for: []) == 0)
    #expect(FrameAllocator.bitmapBytes(for: [0x5000..<0x5000]) == 0)
    #expect(FrameAllocator.bitmapBytes(for: [0x1000..<0x2000]) == 16)
    #expect(FrameAllocator.bitmapBytes(for: [0..<64 * frameSize]) == 16)
    #expect(FrameAllocator.bitmapBytes(for: [0..<65 * frameSize]) == 32)
    // 0x1000 to 0x10_8000 is 263 frames: 5 words per bitmap.
    #expect(FrameAllocator.bitmapBytes(for: Self.holey) == 2 * 5 * 8)
    // Partial frames at the ends of a range do not count.
    #expect(FrameAllocator.bitmapBytes(for: [0x0FFF..<0x2001]) == 16)
    #expect(FrameAllocator.bitmapBytes(for: [0x1001..<0x1FFF]) == 0)
    // 4 GiB takes 2^20 frames, 2^14 words per bitmap.
    #expect(FrameAllocator.bitmapBytes(for: [0..<(4 << 30)]) == 256 * 1024)
    // Near the top of the address space nothing overflows.
    #expect(FrameAllocator.bitmapBytes(for: [(UInt64.max - 3 * frameSize)..<UInt64.max]) == 16)
  }

  @Test func theBitmapStaysWithinBitmapBytes() {
    for ranges in [Self.holey, [0..<64 * frameSize], [0..<65 * frameSize]] {
      let bytes = FrameAllocator.bitmapBytes(for: ranges)
      let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes + 64, alignment: 8)
      defer { memory.deallocate() }
      memory.initializeMemory(as: UInt8.self, repeating: 0xA5, count: bytes + 64)
      var allocator = FrameAllocator(freeRanges: ranges, bitmap: memory)
      while (try? allocator.allocate()) != nil {}
      #expect(
        (bytes..<(bytes + 64)).allSatisfy {
          memory.load(fromByteOffset: $0, as: UInt8.self) == 0xA5
        }
      )
    }
  }

  @Test func emptyRangesManageNothing() {
    for ranges in [[], [0x3000..<0x3000], [0x1001..<0x1FFF]] as [[Range<UInt64>]] {
      withAllocator(ranges) { allocator in
        #expect(allocator.statistics == FrameStatistics())
        #expect(allocate(&allocator) == .failure(.outOfMemory(requested: 1)))
        #expect(allocateRun(&allocator, count: 1) == .failure(.outOfMemory(requested: 1)))
        #expect(free(&allocator, 0x1000) == .notManaged(address: 0x1000))
        allocator.reserve(0..<UInt64.max)
        #expect(allocator.statistics == FrameStatistics())
      }
    }
  }

  @Test func framesOfUnorderedRangesAreHandedOutLowestFirstAndNeverFromHoles() {
    withAllocator(Self.holey) { allocator in
      #expect(allocator.statistics == FrameStatistics(totalFrames: 11, freeFrames: 11))
      let expected = frameAddresses(in: Self.holey).sorted()
      #expect(expected.count == 11)
      for hole in [0, 0x3000, 0x5000, 0xF_F000, 0x10_8000] as [UInt64] {
        #expect(!isFree(&allocator, PhysicalFrame(address: hole)))
        #expect(!isManaged(&allocator, PhysicalFrame(address: hole)))
      }

      var handedOut: [UInt64] = []
      while case .success(let frame) = allocate(&allocator) {
        handedOut.append(frame.address)
        #expect(!isFree(&allocator, frame))
        #expect(isManaged(&allocator, frame))
      }
      #expect(handedOut == expected)
    }
  }

  @Test func overlappingRangesCountTheirFramesOnce() {
    withAllocator([0x1000..<0x5000, 0x3000..<0x8000, 0x1000..<0x2000]) { allocator in
      #expect(allocator.statistics == FrameStatistics(totalFrames: 7, freeFrames: 7))
      #expect(allocateAll(&allocator).count == 7)
      #expect(allocator.statistics.freeFrames == 0)
    }
  }

  // MARK: Single frames

  @Test func allocationRunsOutExactlyAndAFreedFrameComesBack() {
    let ranges: [Range<UInt64>] = [0x20_0000..<0x28_0000, 0x8000..<0x1_0000]  // 128 + 8 frames
    withAllocator(ranges) { allocator in
      var frames: [PhysicalFrame] = []
      for count in 1...136 {
        guard case .success(let frame) = allocate(&allocator) else {
          Issue.record("allocation \(count) failed")
          return
        }
        frames.append(frame)
        #expect(frame.address % frameSize == 0)
        #expect(ranges.contains { $0.contains(frame.address) })
        #expect(
          allocator.statistics == FrameStatistics(totalFrames: 136, freeFrames: 136 - count))
      }
      #expect(Set(frames).count == 136)
      #expect(allocate(&allocator) == .failure(.outOfMemory(requested: 1)))
      #expect(allocator.statistics == FrameStatistics(totalFrames: 136, freeFrames: 0))
      #expect(allocator.statistics.usedFrames == 136)

      let returned = frames[77]
      #expect(free(&allocator, returned.address) == nil)
      #expect(allocator.statistics.freeFrames == 1)
      #expect(isFree(&allocator, returned))
      #expect(allocate(&allocator) == .success(returned))
      #expect(allocate(&allocator) == .failure(.outOfMemory(requested: 1)))
    }
  }

  @Test func aFreedLowFrameIsHandedOutBeforeHigherOnes() {
    withAllocator([0..<1024 * frameSize]) { allocator in
      let frames = (0..<700).compactMap { _ in try? allocator.allocate() }
      #expect(frames.count == 700)
      #expect(free(&allocator, frames[3].address) == nil)
      #expect(free(&allocator, frames[650].address) == nil)
      #expect(allocate(&allocator) == .success(frames[3]))
      #expect(allocate(&allocator) == .success(frames[650]))
      #expect(allocate(&allocator) == .success(PhysicalFrame(address: 700 * frameSize)))
    }
  }

  @Test func badFreesAreRefusedAndChangeNothing() {
    withAllocator(Self.holey) { allocator in
      let kept = allocateAll(&allocator)
      #expect(free(&allocator, kept[5].address) == nil)
      #expect(free(&allocator, kept[9].address) == nil)
      let before = allocator.statistics
      #expect(before == FrameStatistics(totalFrames: 11, freeFrames: 2))

      let cases: [(UInt64, FrameAllocatorError)] = [
        (kept[5].address, .alreadyFree(address: kept[5].address)),
        (kept[9].address, .alreadyFree(address: kept[9].address)),
        (0x3000, .notManaged(address: 0x3000)),  // the hole between ranges
        (0x8_0000, .notManaged(address: 0x8_0000)),  // the gap the bitmap covers
        (0, .notManaged(address: 0)),  // below the lowest range
        (0x10_8000, .notManaged(address: 0x10_8000)),  // just past the highest
        (UInt64.max - frameSize + 1, .notManaged(address: UInt64.max - frameSize + 1)),
        (0x1800, .misaligned(address: 0x1800)),
        (kept[0].address + 1, .misaligned(address: kept[0].address + 1)),
        (UInt64.max, .misaligned(address: UInt64.max)),
      ]
      for (address, error) in cases {
        #expect(free(&allocator, address) == error)
        #expect(allocator.statistics == before)
      }
      #expect(allocateAll(&allocator) == [kept[5], kept[9]])
    }
  }

  // MARK: Contiguous runs

  @Test(
    arguments: [
      (1, 4096), (3, 4096), (64, 4096), (65, 4096), (16, 64 * 1024), (5, 2 << 20), (512, 2 << 20),
      (1024, 4 << 20),
    ] as [(Int, UInt64)])
  func contiguousRunsAreContiguousAlignedAndFree(count: Int, alignment: UInt64) {
    // Neither range starts on a 2 MiB boundary; the larger holds whole 2 and 4 MiB blocks.
    let ranges: [Range<UInt64>] = [0x10_1000..<(12 * mebibyte + 0x3000), 0x9000..<0xF000]
    withAllocator(ranges) { allocator in
      let total = allocator.statistics.totalFrames
      // A single frame first, so the run cannot simply start at the lowest free frame.
      guard case .success(let single) = allocate(&allocator) else {
        Issue.record("no single frame")
        return
      }
      var runs: [PhysicalFrame] = []
      while case .success(let first) = allocateRun(&allocator, count: count, alignment: alignment) {
        #expect(first.address % alignment == 0)
        let addresses = (0..<UInt64(count)).map { first.address + $0 * frameSize }
        #expect(addresses.allSatisfy { address in ranges.contains { $0.contains(address) } })
        #expect(addresses.allSatisfy { !isFree(&allocator, PhysicalFrame(address: $0)) })
        #expect(!addresses.contains(single.address))
        if let previous = runs.last {
          #expect(first.address >= previous.address + UInt64(count) * frameSize)
        }
        runs.append(first)
        #expect(allocator.statistics.freeFrames == total - 1 - runs.count * count)
      }
      #expect(!runs.isEmpty)
      let failed = allocator.statistics
      #expect(
        allocateRun(&allocator, count: count, alignment: alignment)
          == .failure(.outOfMemory(requested: count)))
      #expect(allocator.statistics == failed)

      for first in runs {
        #expect(freeRun(&allocator, first, count: count) == nil)
      }
      #expect(free(&allocator, single.address) == nil)
      #expect(allocator.statistics == FrameStatistics(totalFrames: total, freeFrames: total))
      // With everything free, the run goes to the lowest place it fits.
      let lowest = ranges.sorted { $0.lowerBound < $1.lowerBound }.lazy.compactMap { range in
        let start = (range.lowerBound + alignment - 1) / alignment * alignment
        return start + UInt64(count) * frameSize <= range.upperBound ? start : nil
      }.first
      #expect(lowest != nil)
      if let lowest {
        #expect(
          allocateRun(&allocator, count: count, alignment: alignment)
            == .success(PhysicalFrame(address: lowest)))
      }
    }
  }

  @Test func twoMebibyteRunsGoWhereTheAlignmentAllows() throws {
    try withAllocator([0x10_0000..<(8 * mebibyte)]) { allocator in
      let run = try allocator.allocateContiguous(count: 512, alignment: 2 * mebibyte)
      #expect(run.address == 2 * mebibyte)
      let next = try allocator.allocateContiguous(count: 513, alignment: 2 * mebibyte)
      #expect(next.address == 4 * mebibyte)
      // The rest from 6 MiB + 4 KiB up is too short for 512 frames, and below 2 MiB the
      // first aligned address is 0, outside the range.
      #expect(
        allocateRun(&allocator, count: 512, alignment: 2 * mebibyte)
          == .failure(.outOfMemory(requested: 512)))
      #expect(allocateRun(&allocator, count: 256) == .success(PhysicalFrame(address: 0x10_0000)))
    }
  }

  @Test func contiguousRunsNeverSpanAHole() {
    // A one-frame hole at 0x4000.
    withAllocator([0x5000..<0x9000, 0..<0x4000]) { allocator in
      #expect(allocateRun(&allocator, count: 5) == .failure(.outOfMemory(requested: 5)))
      #expect(allocateRun(&allocator, count: 4) == .success(PhysicalFrame(address: 0)))
      #expect(allocateRun(&allocator, count: 4) == .success(PhysicalFrame(address: 0x5000)))
      #expect(allocator.statistics == FrameStatistics(totalFrames: 8, freeFrames: 0))
    }
  }

  @Test func fragmentationMakesContiguousAllocationFailCleanly() {
    withAllocator([0x10_0000..<0x20_0000]) { allocator in
      let frames = allocateAll(&allocator)
      #expect(frames.count == 256)
      for frame in frames where frame.address / frameSize % 2 == 0 {
        #expect(free(&allocator, frame.address) == nil)
      }
      let fragmented = allocator.statistics
      #expect(fragmented.freeFrames == 128)
      for count in [2, 3, 64, 128] {
        #expect(allocateRun(&allocator, count: count) == .failure(.outOfMemory(requested: count)))
        #expect(allocator.statistics == fragmented)
      }
      // One odd frame back joins two free neighbours into a run of three.
      #expect(free(&allocator, 0x10_5000) == nil)
      #expect(allocateRun(&allocator, count: 3) == .success(PhysicalFrame(address: 0x10_4000)))
      #expect(allocateRun(&allocator, count: 1) == .success(PhysicalFrame(address: 0x10_0000)))
    }
  }

  @Test func impossibleRunsAreOutOfMemoryAndBadOnesInvalid() {
    withAllocator(Self.holey) { allocator in
      let before = allocator.statistics
      let outOfMemory: [(Int, UInt64)] = [
        (12, 4096), (Int.max, 4096), (9, 4096), (8, 2 << 20), (1, 1 << 30), (1, 1 << 63),
      ]
      for (count, alignment) in outOfMemory {
        #expect(
          allocateRun(&allocator, count: count, alignment: alignment)
            == .failure(.outOfMemory(requested: count)))
      }
      let invalid: [(Int, UInt64)] = [
        (0, 4096), (-1, 4096), (Int.min, 4096), (1, 0), (1, 1), (1, 2048), (1, 3 * 4096),
        (1, UInt64.max),
      ]
      for (count, alignment) in invalid {
        #expect(
          allocateRun(&allocator, count: count, alignment: alignment)
            == .failure(.invalidRequest(count: count, alignment: alignment)))
      }
      #expect(allocator.statistics == before)
      // The eight frames at 0x10_0000 are the only run of eight, and 256 KiB aligned.
      #expect(
        allocateRun(&allocator, count: 8, alignment: 0x4_0000)
          == .success(PhysicalFrame(address: 0x10_0000)))
    }
  }

  @Test func badContiguousFreesAreRefusedAndChangeNothing() throws {
    try withAllocator([0..<0x4000, 0x5000..<0x10000]) { allocator in
      let run = try allocator.allocateContiguous(count: 4)
      let tail = try allocator.allocateContiguous(count: 11)
      #expect(run.address == 0 && tail.address == 0x5000)
      try allocator.free(PhysicalFrame(address: 0x7000))
      let before = allocator.statistics

      let cases: [(UInt64, Int, FrameAllocatorError)] = [
        (0x5000, 11, .alreadyFree(address: 0x7000)),
        (0x0000, 6, .notManaged(address: 0x4000)),  // across the hole
        (0x8000, 9, .notManaged(address: 0x10000)),  // past the end
        (0x8000, Int.max, .notManaged(address: 0x10000)),
        (0x4000, 1, .notManaged(address: 0x4000)),
        (0x1001, 2, .misaligned(address: 0x1001)),
        (0x0000, 0, .invalidRequest(count: 0, alignment: 4096)),
        (0x0000, -4, .invalidRequest(count: -4, alignment: 4096)),
      ]
      for (address, count, error) in cases {
        #expect(freeRun(&allocator, PhysicalFrame(address: address), count: count) == error)
        #expect(allocator.statistics == before)
        #expect(!isFree(&allocator, PhysicalFrame(address: 0x5000)))
        #expect(!isFree(&allocator, PhysicalFrame(address: 0x8000)))
      }
      #expect(freeRun(&allocator, run, count: 4) == nil)
      #expect(freeRun(&allocator, PhysicalFrame(address: 0x5000), count: 2) == nil)
      #expect(freeRun(&allocator, PhysicalFrame(address: 0x8000), count: 8) == nil)
      #expect(allocator.statistics == FrameStatistics(totalFrames: 15, freeFrames: 15))
      #expect(freeRun(&allocator, run, count: 4) == .alreadyFree(address: 0))
    }
  }

  @Test func everyErrorHasAMessage() {
    let errors: [FrameAllocatorError] = [
      .outOfMemory(requested: 1), .notManaged(address: 0), .misaligned(address: 1),
      .alreadyFree(address: 0), .invalidRequest(count: 0, alignment: 4096),
    ]
    #expect(Set(errors.map(\.message)).count == errors.count)
    #expect(errors.allSatisfy { !$0.message.isEmpty })
  }

  @Test func nothingOverflowsAtTheTopOfTheAddressSpace() throws {
    // A Range<UInt64> ends at UInt64.max at most, so the highest frame it can hold whole
    // is the one below `end`.
    let end = UInt64.max & ~(frameSize - 1)
    try withAllocator([(end - 2 * frameSize)..<UInt64.max]) { allocator in
      #expect(allocator.statistics == FrameStatistics(totalFrames: 2, freeFrames: 2))
      #expect(
        allocateRun(&allocator, count: 1, alignment: 1 << 63)
          == .failure(.outOfMemory(requested: 1)))
      #expect(allocateRun(&allocator, count: 3) == .failure(.outOfMemory(requested: 3)))
      let run = try allocator.allocateContiguous(count: 2)
      #expect(run.address == end - 2 * frameSize)
      #expect(freeRun(&allocator, run, count: Int.max) == .notManaged(address: end))
      #expect(freeRun(&allocator, run, count: 3) == .notManaged(address: end))
      #expect(free(&allocator, end) == .notManaged(address: end))
      #expect(freeRun(&allocator, run, count: 2) == nil)
      allocator.reserve((UInt64.max - 1)..<UInt64.max)
      #expect(allocator.statistics == FrameStatistics(totalFrames: 2, freeFrames: 2))
      allocator.reserve((end - 1)..<UInt64.max)
      #expect(
        allocator.statistics == FrameStatistics(totalFrames: 2, freeFrames: 1, reservedFrames: 1))
      #expect(allocate(&allocator) == .success(run))
    }
  }

  // MARK: Reservations

  @Test func reservingTheBitmapsOwnFramesKeepsThemFromBeingHandedOut() {
    // As the kernel does: the bitmap is carved from the start of the first free range.
    let ranges: [Range<UInt64>] = [0x10_0000..<(1 << 32), 0x1000..<0x9_F000]
    let bytes = UInt64(FrameAllocator.bitmapBytes(for: ranges))
    #expect(bytes == 2 * 16384 * 8)  // (4 GiB - 4 KiB) / 4 KiB frames, rounded to words
    withAllocator(ranges) { allocator in
      let total = allocator.statistics.totalFrames
      #expect(total == 0x9E + (1 << 20) - 0x100)
      allocator.reserve(0x1000..<(0x1000 + bytes))
      let reserved = Int(bytes / frameSize)
      #expect(
        allocator.statistics
          == FrameStatistics(
            totalFrames: total, freeFrames: total - reserved, reservedFrames: reserved))
      #expect(allocator.statistics.usedFrames == reserved)
      #expect(allocate(&allocator) == .success(PhysicalFrame(address: 0x1000 + bytes)))
      #expect(free(&allocator, 0x1000) == .notManaged(address: 0x1000))
      #expect(!isManaged(&allocator, PhysicalFrame(address: 0x1000)))
    }
  }

  @Test func reserveRoundsOutwardAndCountsEachFrameOnce() {
    withAllocator(Self.holey) { allocator in
      // Touches 0x1000 and 0x2000, the whole first range, and reaches into the hole.
      allocator.reserve(0x1FFF..<0x3001)
      #expect(
        allocator.statistics == FrameStatistics(totalFrames: 11, freeFrames: 9, reservedFrames: 2))
      allocator.reserve(0x1000..<0x5000)
      #expect(
        allocator.statistics == FrameStatistics(totalFrames: 11, freeFrames: 8, reservedFrames: 3))
      allocator.reserve(0x4800..<0x4801)
      allocator.reserve(0x4000..<0x4000)
      #expect(
        allocator.statistics == FrameStatistics(totalFrames: 11, freeFrames: 8, reservedFrames: 3))
      #expect(allocateAll(&allocator).map(\.address) == (0..<8).map { 0x10_0000 + $0 * frameSize })
    }
  }

  @Test func reservingUnmanagedMemoryChangesNothing() {
    withAllocator(Self.holey) { allocator in
      let before = allocator.statistics
      let unmanaged: [Range<UInt64>] = [
        0..<0x1000, 0x3000..<0x4000, 0x5000..<0x10_0000, 0x10_8000..<UInt64.max,
        (UInt64.max - 1)..<UInt64.max, 0x2_0000..<0x2_0000,
      ]
      for range in unmanaged {
        allocator.reserve(range)
        #expect(allocator.statistics == before)
      }
      #expect(allocateAll(&allocator).count == 11)
    }
  }

  @Test func aFrameReservedWhileAllocatedCanNoLongerBeFreed() throws {
    try withAllocator(Self.holey) { allocator in
      let frame = try allocator.allocate()
      allocator.reserve(frame.address..<(frame.address + frameSize))
      #expect(
        allocator.statistics == FrameStatistics(totalFrames: 11, freeFrames: 10, reservedFrames: 1))
      #expect(free(&allocator, frame.address) == .notManaged(address: frame.address))
      #expect(allocator.statistics.freeFrames == 10)
    }
  }

  // MARK: Random mix

  @Test(arguments: [0x5EED_0001, 0xC0FF_EE42, 0xF4A3_E5] as [UInt64])
  func randomAllocationsAndFreesNeverHandOutAFrameTwice(seed: UInt64) {
    // 1.5 MiB + 4 KiB, 1 MiB and 64 KiB, out of order and with holes.
    let ranges: [Range<UInt64>] = [
      0x40_0000..<0x58_1000, 0x10_0000..<0x20_0000, 0x3_0000..<0x4_0000,
    ]
    withAllocator(ranges) { allocator in
      let total = allocator.statistics.totalFrames
      #expect(total == 385 + 256 + 16)
      var random = XorShift(seed: seed)
      var owned = Set<UInt64>()
      var live: [(first: PhysicalFrame, count: Int)] = []
      var failures = 0

      for step in 0..<6_000 {
        if live.isEmpty || random.next(below: 100) < 55 {
          let single = random.next(below: 3) != 0
          let count = single ? 1 : 1 + random.next(below: 40)
          let alignment = frameSize << UInt64(single ? 0 : random.next(below: 7))
          let result =
            single
            ? allocate(&allocator) : allocateRun(&allocator, count: count, alignment: alignment)
          guard case .success(let first) = result else {
            #expect(result == .failure(.outOfMemory(requested: count)), "step \(step)")
            failures += 1
            continue
          }
          let addresses = (0..<UInt64(count)).map { first.address + $0 * frameSize }
          guard first.address % alignment == 0,
            addresses.allSatisfy({ address in ranges.contains { $0.contains(address) } }),
            owned.isDisjoint(with: addresses)
          else {
            Issue.record("step \(step): bad run of \(count) at \(first.address)")
            return
          }
          owned.formUnion(addresses)
          live.append((first, count))
        } else {
          let (first, count) = live.remove(at: random.next(below: live.count))
          if count == 1 || random.next(below: 2) == 0 {
            #expect(freeRun(&allocator, first, count: count) == nil, "step \(step)")
          } else {
            for index in 0..<UInt64(count) {
              let address = first.address + index * frameSize
              #expect(free(&allocator, address) == nil, "step \(step)")
            }
          }
          owned.subtract((0..<UInt64(count)).map { first.address + $0 * frameSize })
          if random.next(below: 10) == 0 {
            #expect(free(&allocator, first.address) == .alreadyFree(address: first.address))
          }
        }
        guard
          allocator.statistics
            == FrameStatistics(totalFrames: total, freeFrames: total - owned.count)
        else {
          Issue.record("step \(step): statistics \(allocator.statistics), \(owned.count) owned")
          return
        }
      }

      #expect(failures > 0)
      for (first, count) in live {
        #expect(freeRun(&allocator, first, count: count) == nil)
      }
      #expect(allocator.statistics == FrameStatistics(totalFrames: total, freeFrames: total))
      #expect(allocateAll(&allocator).map(\.address) == frameAddresses(in: ranges).sorted())
    }
  }
}

// MARK: Helpers

private let frameSize = FrameAllocator.frameSize
private let mebibyte: UInt64 = 1 << 20

/// Calls `body` with an allocator over `ranges` whose bitmap is host memory, freed after.
private func withAllocator<Value>(
  _ ranges: [Range<UInt64>], _ body: (inout FrameAllocator) throws -> Value
) rethrows -> Value {
  let bytes = FrameAllocator.bitmapBytes(for: ranges)
  let memory = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 8), alignment: 8)
  defer { memory.deallocate() }
  var allocator = FrameAllocator(freeRanges: ranges, bitmap: memory)
  return try body(&allocator)
}

/// What an allocation returned or threw, as a value `#expect` can compare.
private typealias Allocation = Result<PhysicalFrame, FrameAllocatorError>

/// `allocate`, as a value `#expect` can compare.
private func allocate(_ allocator: inout FrameAllocator) -> Allocation {
  Result { () throws(FrameAllocatorError) in try allocator.allocate() }
}

/// `allocateContiguous`, as a value `#expect` can compare.
private func allocateRun(
  _ allocator: inout FrameAllocator, count: Int, alignment: UInt64 = FrameAllocator.frameSize
) -> Allocation {
  Result { () throws(FrameAllocatorError) in
    try allocator.allocateContiguous(count: count, alignment: alignment)
  }
}

/// The error `free` throws for the frame at `address`, or nil if it succeeds.
private func free(_ allocator: inout FrameAllocator, _ address: UInt64) -> FrameAllocatorError? {
  freeRun(&allocator, PhysicalFrame(address: address), count: 1)
}

/// The error `freeContiguous` (or `free`, for one frame) throws, or nil if it succeeds.
private func freeRun(
  _ allocator: inout FrameAllocator, _ first: PhysicalFrame, count: Int
) -> FrameAllocatorError? {
  do {
    if count == 1 {
      try allocator.free(first)
    } else {
      try allocator.freeContiguous(first, count: count)
    }
    return nil
  } catch {
    return error
  }
}

/// `isFree`, as a function that `#expect` can call: the macro takes the receiver and the
/// arguments of a call apart as values, which a noncopyable allocator cannot be, unless
/// it is passed inout.
private func isFree(_ allocator: inout FrameAllocator, _ frame: PhysicalFrame) -> Bool {
  allocator.isFree(frame)
}

/// `isManaged`, as a function that `#expect` can call.
private func isManaged(_ allocator: inout FrameAllocator, _ frame: PhysicalFrame) -> Bool {
  allocator.isManaged(frame)
}

/// Allocates single frames until none is left, in the order handed out.
private func allocateAll(_ allocator: inout FrameAllocator) -> [PhysicalFrame] {
  var frames: [PhysicalFrame] = []
  while let frame = try? allocator.allocate() { frames.append(frame) }
  return frames
}

/// Every frame address in `ranges`, which must be page-aligned.
private func frameAddresses(in ranges: [Range<UInt64>]) -> [UInt64] {
  ranges.flatMap { Array(stride(from: $0.lowerBound, to: $0.upperBound, by: 4096)) }
}
