/// The C functions the Embedded Swift runtime expects from its platform.
///
/// boot/libc.asm has memcpy and friends, and forwards posix_memalign and free here:
/// allocation comes from the kernel heap, characters go to the console, and random bytes
/// (for hashing seeds) from a timestamp-seeded generator.

/// POSIX: store memory of `size` bytes aligned to `alignment` in `result`; 0 or ENOMEM.
@_cdecl("kernel_posix_memalign")
func runtimePosixMemalign(
  _ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int,
  _ framePointer: UInt64
) -> Int32 {
  let outOfMemory: Int32 = 12  // ENOMEM
  guard
    let memory = KernelHeap.allocate(size: size, alignment: alignment, framePointer: framePointer)
  else {
    return outOfMemory
  }
  result.pointee = memory
  return 0
}

@_cdecl("kernel_free")
func runtimeFree(_ pointer: UnsafeMutableRawPointer?) {
  guard let pointer else { return }
  KernelHeap.free(pointer)
}

@_cdecl("putchar")
func runtimePutchar(_ character: Int32) -> Int32 {
  Console.write(UInt8(truncatingIfNeeded: character))
  return character
}

/// Fills `buffer` with pseudo-random bytes. Only hashing uses them (to seed Hasher), so
/// a timestamp-seeded xorshift is enough; nothing here is for cryptography.
@_cdecl("arc4random_buf")
func runtimeRandomBytes(_ buffer: UnsafeMutableRawPointer, _ count: Int) {
  for index in 0..<count {
    buffer.storeBytes(
      of: UInt8(truncatingIfNeeded: Random.next()), toByteOffset: index, as: UInt8.self)
  }
}

private enum Random {
  nonisolated(unsafe) static var state: UInt64 = 0

  static func next() -> UInt64 {
    if state == 0 { state = CPU.timestamp | 1 }
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return state
  }
}
