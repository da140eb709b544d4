/// What each owner holds of the shared heap, in bytes: what a quota is checked against.
///
/// A fixed table indexed by owner id, allocated once with the heap, so that keeping it
/// never allocates again and looking an owner up is one load. (Out of line, not an
/// `InlineArray` in the heap: Embedded Swift copied that whole, 2 KiB, for every entry it
/// read.) The kernel gives at most a few hundred domain ids (each domain takes an export
/// slot, and there are 256); ids from `capacity - 1` up share the last account, so each of
/// them is limited by what all of them hold together, never by less.
struct SharedHeapAccounts: ~Copyable {
  static let capacity = 256

  private let bytes: UnsafeMutablePointer<Int>

  init() {
    bytes = .allocate(capacity: Self.capacity)
    bytes.initialize(repeating: 0, count: Self.capacity)
  }

  deinit {
    bytes.deallocate()
  }

  /// What `owner` is charged for.
  subscript(owner: DomainOwner) -> Int { bytes[Self.index(owner)] }

  /// Charges `owner` `delta` bytes more (or less, if negative).
  func charge(_ owner: DomainOwner, _ delta: Int) {
    bytes[Self.index(owner)] += delta
  }

  /// Whether every owner is charged the same in `other`.
  func matches(_ other: borrowing SharedHeapAccounts) -> Bool {
    for index in 0..<Self.capacity where bytes[index] != other.bytes[index] { return false }
    return true
  }

  private static func index(_ owner: DomainOwner) -> Int {
    Int(min(owner.rawValue, UInt32(capacity - 1)))
  }
}
