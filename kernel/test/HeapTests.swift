/// Tests of the kernel heap as the Swift runtime uses it.
import BootInfo
import Memory

enum HeapTests {
  static var tests: [KernelTest] {
    [
      KernelTest("heap.usable_memory_added", usableMemoryAdded),
      KernelTest("heap.region_overlaps_nothing_kept", regionOverlapsNothingKept),
      KernelTest("heap.alignment", alignment),
      KernelTest("heap.swift_collections", swiftCollections),
      KernelTest("heap.reuse", reuse),
      KernelTest("heap.small_from_slabs_large_from_region", smallFromSlabsLargeFromRegion),
    ]
  }

  static func usableMemoryAdded(_ t: inout TestContext) {
    let capacity = KernelHeap.statistics.capacity
    t.expect(capacity > 8 << 20, "heap holds only \(capacity) bytes: memory map not used")
    t.expect(KernelHeap.verify(), "heap structure is inconsistent")
  }

  static func regionOverlapsNothingKept(_ t: inout TestContext) {
    let region = KernelHeap.usableRegion
    let boot = Kernel.bootInfo
    let kernel = LinkerAddress.kernelStart.value..<LinkerAddress.kernelEnd.value
    t.expect(!region.overlaps(kernel), "heap \(hex: region.lowerBound) overlaps the kernel image")
    for range in boot.infoRanges {
      t.expect(
        !region.overlaps(range), "heap overlaps boot information at \(hex: range.lowerBound)")
    }
    for module in boot.modules {
      t.expect(!region.overlaps(module.start..<module.end), "heap overlaps a boot module")
    }
    let inAvailableRegion = boot.memoryMap.contains {
      $0.kind == .available && $0.start <= region.lowerBound && region.upperBound <= $0.end
    }
    t.expect(inAvailableRegion, "heap region is not inside one available region")
  }

  static func alignment(_ t: inout TestContext) {
    var alignment = 1
    while alignment <= 4096 {
      var memory: UnsafeMutableRawPointer?
      let status = runtimePosixMemalign(&memory, alignment, 24, 0)
      guard t.expect(status == 0, "posix_memalign failed for alignment \(alignment)") else {
        return
      }
      let address = UInt(bitPattern: memory)
      t.expect(address % UInt(alignment) == 0, "\(hex: address) is not \(alignment)-aligned")
      runtimeFree(memory)
      alignment *= 2
    }
  }

  static func swiftCollections(_ t: inout TestContext) {
    let before = KernelHeap.statistics.bytesInUse
    do {
      var numbers: [Int] = []
      for value in 0..<10_000 { numbers.append(value) }
      t.expect(numbers.reduce(0, +) == 49_995_000, "array sum wrong")
      let words = "Swift let us boot".split(separator: " ").map { String($0) }
      t.expect(words.count == 4 && words[2] == "us", "string split wrong")
      var set = Set<Int>()
      for value in numbers where value % 7 == 0 { set.insert(value) }
      t.expect(set.count == 1429 && set.contains(9996), "set contents wrong")
    }
    let after = KernelHeap.statistics.bytesInUse
    t.expect(after == before, "\(after - before) bytes not returned to the heap")
  }

  static func smallFromSlabsLargeFromRegion(_ t: inout TestContext) {
    let small = KernelHeap.allocate(size: 48, alignment: 16)
    let large = KernelHeap.allocate(size: 16 * 1024, alignment: 16)
    guard let small, let large else {
      t.expect(false, "allocation failed")
      return
    }
    t.expect(
      !KernelHeap.isLargeRegion(UInt64(UInt(bitPattern: small))),
      "48 bytes came from a large region")
    t.expect(
      KernelHeap.isLargeRegion(UInt64(UInt(bitPattern: large))),
      "16 KiB did not come from a large region")
    t.expect(UInt(bitPattern: small) % 64 == 0, "a 64-byte-class object is not 64-aligned")
    KernelHeap.free(small)
    KernelHeap.free(large)
    t.expect(KernelHeap.verify(), "heap inconsistent")
  }

  static func reuse(_ t: inout TestContext) {
    var first: UnsafeMutableRawPointer?
    _ = runtimePosixMemalign(&first, 16, 4000, 0)
    runtimeFree(first)
    var second: UnsafeMutableRawPointer?
    _ = runtimePosixMemalign(&second, 16, 4000, 0)
    t.expect(
      first == second,
      "freed block not reused: \(hex: UInt(bitPattern: first)) then \(hex: UInt(bitPattern: second))"
    )
    runtimeFree(second)
  }
}
