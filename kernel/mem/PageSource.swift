/// Where the pages for slabs come from: in the kernel, the frame allocator.
///
/// A page `allocatePage` returns belongs to the heap until the heap passes it to
/// `freePage`; the heap gives back only pages it was given, each once.
public protocol PageSource: ~Copyable {
  /// A free 4 KiB page, aligned to 4 KiB, or nil if there is none.
  mutating func allocatePage() -> UnsafeMutableRawPointer?
  /// Takes back a page `allocatePage` returned.
  mutating func freePage(_ page: UnsafeMutableRawPointer)
}
