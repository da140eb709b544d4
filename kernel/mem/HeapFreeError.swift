/// Why a heap refused to free a pointer. When `free` throws, the heap is unchanged.
public enum HeapFreeError: Error, Equatable {
  /// `address` is not the start of memory the heap handed out: it lies outside every
  /// region, is not 16-byte aligned, points into the middle of a block, or the header in
  /// front of it has been overwritten (by a write past the end of the block before it).
  case notAllocated(address: UInt)
  /// `address` was handed out, but has been freed since.
  case doubleFree(address: UInt)

  /// The pointer that was passed to `free`.
  public var address: UInt {
    switch self {
    case .notAllocated(let address), .doubleFree(let address): address
    }
  }

  /// What went wrong, in words, for a panic message. The text is fixed, so that reporting
  /// a heap error never needs the heap; print `address` beside it.
  public var message: String {
    switch self {
    case .notAllocated: "free of a pointer the heap did not hand out"
    case .doubleFree: "double free"
    }
  }
}
