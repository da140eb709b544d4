/// The values the shared heap speaks in: who owns an allocation, what its entry says, and
/// how much an owner holds.

/// A domain, as the shared heap records it: the owner of allocations. 0 is the kernel.
public struct DomainOwner: Equatable, Hashable, Sendable {
  /// The domain's id, as stored in an allocation's header.
  public let rawValue: UInt32

  /// The owner with id `raw`.
  public init(_ raw: UInt32) {
    rawValue = raw
  }

  /// The kernel, which owns what it allocates before handing it to a domain.
  public static let kernel = DomainOwner(0)
}

/// A copy of one allocation's registry entry, taken at the moment `SharedHeap.entry` ran.
public struct SharedAllocation: Equatable {
  /// The domain that owns the payload; for an orphan, the domain that died owning it.
  public let owner: DomainOwner
  /// How many calls borrow the payload right now.
  public let borrows: Int
  /// The payload's size in bytes, as asked for.
  public let size: Int
  /// The tag given to `allocate`, naming the payload's type for the proxies.
  public let typeTag: UInt64
  /// The drop handler given to `allocate`. The heap records it and never calls it.
  public let dropHandler: UInt64
  /// Whether the owner died while the payload was borrowed: the payload lives until its
  /// last borrow ends, and nobody may free or move it.
  public let isOrphaned: Bool
  /// Whether the owner has moved the payload into a call and the other side has not
  /// adopted it yet.
  public let isInTransit: Bool

  /// An entry with the given fields; `SharedHeap.entry` makes these.
  public init(
    owner: DomainOwner, borrows: Int, size: Int, typeTag: UInt64, dropHandler: UInt64,
    isOrphaned: Bool = false, isInTransit: Bool = false
  ) {
    self.owner = owner
    self.borrows = borrows
    self.size = size
    self.typeTag = typeTag
    self.dropHandler = dropHandler
    self.isOrphaned = isOrphaned
    self.isInTransit = isInTransit
  }
}

/// How many shared allocations a domain (or the whole heap) holds, and their payload bytes.
///
/// Bytes are payload sizes as asked for; headers, alignment padding and the backing heap's
/// rounding are not counted (`SharedHeap.heapStatistics` has those).
public struct SharedOwnerStatistics: Equatable {
  /// Live allocations.
  public var allocations: Int
  /// The sum of their payload sizes.
  public var bytes: Int

  /// Counters with the given values; 0 by default.
  public init(allocations: Int = 0, bytes: Int = 0) {
    self.allocations = allocations
    self.bytes = bytes
  }
}
