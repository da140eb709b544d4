/// Why a frame allocator refused a request. When a call throws, the allocator is unchanged.
public enum FrameAllocatorError: Error, Equatable {
  /// No free frame, or no run of `requested` free frames at the alignment asked for.
  case outOfMemory(requested: Int)
  /// `address` is not a frame the allocator hands out: it lies in a hole between the free
  /// ranges, outside all of them, or in a range reserved since.
  case notManaged(address: UInt64)
  /// `address` is not a multiple of the frame size.
  case misaligned(address: UInt64)
  /// The frame at `address` is free already: a double free.
  case alreadyFree(address: UInt64)
  /// `count` is below 1, or `alignment` is not a power of two of at least a frame.
  case invalidRequest(count: Int, alignment: UInt64)

  /// What went wrong, in words, for a panic message. The text is fixed, so that reporting
  /// an error needs no allocation; print the case's values beside it.
  public var message: String {
    switch self {
    case .outOfMemory: "out of physical memory"
    case .notManaged: "address is not a frame the allocator manages"
    case .misaligned: "address is not frame-aligned"
    case .alreadyFree: "double free of a physical frame"
    case .invalidRequest: "bad frame count or alignment"
    }
  }
}
