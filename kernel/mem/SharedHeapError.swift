/// Why the shared heap refused an operation on a payload. When a call throws, the heap
/// and every entry in it are unchanged.
public enum SharedHeapError: Error, Equatable {
  /// `address` is not a live shared payload: it lies outside the heap's regions, points
  /// into the middle of an allocation, has been freed, or its header has been overwritten.
  case notShared(address: UInt)
  /// The caller is not the payload's owner; `owner` is the domain that is.
  case notOwner(address: UInt, owner: UInt32)
  /// The payload's owner, `owner`, died while the payload was borrowed: it is freed when
  /// its last borrow ends, and until then nobody may free or move it.
  case orphaned(address: UInt, owner: UInt32)
  /// The payload cannot be freed or moved while `borrows` calls borrow it.
  case borrowed(address: UInt, borrows: Int)
  /// A borrow was ended that nobody had begun.
  case notBorrowed(address: UInt)
  /// The payload's borrow count is at its maximum, `UInt32.max`.
  case tooManyBorrows(address: UInt)
  /// `freeOrphan` was given a payload whose owner is alive.
  case notOrphaned(address: UInt)
  /// An adoption expected another type of payload; `tag` is the payload's own type tag.
  case wrongType(address: UInt, tag: UInt64)
  /// An adoption or `freeUndelivered` found the payload not in transit: it was never
  /// moved into a call (or was only lent), or it was adopted already.
  case notInTransit(address: UInt)
  /// An adoption found the payload owned by `owner`, not by the other side of the call.
  case notFromSender(address: UInt, owner: UInt32)
  /// A deque's ring names a head or a count outside its slots.
  case badRing(address: UInt)

  /// The payload the refused operation was about.
  public var address: UInt {
    switch self {
    case .notShared(let address), .notOwner(let address, _), .orphaned(let address, _),
      .borrowed(let address, _), .notBorrowed(let address), .tooManyBorrows(let address),
      .notOrphaned(let address), .wrongType(let address, _), .notInTransit(let address),
      .notFromSender(let address, _), .badRing(let address):
      address
    }
  }

  /// What went wrong, in words, for a panic message or a log line. The text is fixed, so
  /// that reporting an error never allocates; print `address` and the other values beside it.
  public var message: String {
    switch self {
    case .notShared: "not a live shared-heap payload"
    case .notOwner: "the caller does not own the shared payload"
    case .orphaned: "the shared payload's owner has died"
    case .borrowed: "the shared payload is borrowed"
    case .notBorrowed: "end of a borrow nobody began"
    case .tooManyBorrows: "too many borrows of one shared payload"
    case .notOrphaned: "the shared payload's owner is alive"
    case .wrongType: "the shared payload is of another type"
    case .notInTransit:
      "the shared payload is not in transit (never moved, lent, or adopted already)"
    case .notFromSender: "the shared payload was not moved by the other side of the call"
    case .badRing: "the deque's ring has a head or count outside its slots"
    }
  }
}
