/// The registry entry in front of every shared-heap payload, and its layout.
///
/// Each payload is preceded by 64 bytes holding its registry entry, so that the kernel, a
/// generated proxy or assembly can reach the entry from the payload pointer alone. The
/// offsets below are from the payload and are fixed: `SharedHeap` exports them as
/// `magicOffset`, `ownerOffset` and so on, and code outside Swift may rely on them.
///
///     offset  size  field
///       -64     8   magic: the header's own address (payload - 64) mixed with the heap's secret
///       -56     8   next: payload address of the next-older live allocation, 0 at the end
///       -48     8   previous: payload address of the next-newer live allocation, 0 at the head
///       -40     8   size: the payload's size in bytes, as asked for
///       -32     8   type tag, as given to `allocate`
///       -24     8   drop handler, as given to `allocate`
///       -16     4   owner: the owning domain's id (0 is the kernel)
///       -12     4   state: bit 0 set when the owner died while the payload was borrowed;
///                   bit 1 set while the owner has moved it into a call and the other
///                   side has not adopted it yet (in transit)
///        -8     4   borrows: how many calls currently borrow the payload
///        -4     4   padding: bytes between the start of the backing block and the header
///
/// Owner and state together make one little-endian 64-bit word equal to the owner's id
/// exactly when that owner holds the payload, has not died and has not given it into a
/// call, so an ownership check is one load and one compare. The magic sits lowest, where a
/// write running off the end of the allocation below lands first. It is mixed with its own
/// address, so that a header copied elsewhere does not pass for one, and with a secret the
/// kernel draws at boot and never shows a domain: a domain knows where its payloads are and
/// what they hold, and without the secret it cannot lay out bytes in one that pass for a
/// header (of an allocation it could then have adopted or freed).
struct SharedHeader {
  /// Bytes in front of every payload.
  static let size: UInt = 64

  static let orphanedFlag: UInt32 = 1
  static let inTransitFlag: UInt32 = 2

  static let magicOffset = -64
  static let nextOffset = -56
  static let previousOffset = -48
  static let sizeOffset = -40
  static let typeTagOffset = -32
  static let dropHandlerOffset = -24
  static let ownerOffset = -16
  static let stateOffset = -12
  static let borrowsOffset = -8
  static let paddingOffset = -4

  /// Where the payload starts; the header is the 64 bytes before it.
  let payload: UInt

  init(payload: UInt) {
    self.payload = payload
  }

  /// Where the header starts.
  var address: UInt { payload &- SharedHeader.size }

  var pointer: UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: payload).unsafelyUnwrapped
  }

  /// Whether the magic word matches this header's address under `secret`.
  func hasMagic(_ secret: UInt64) -> Bool {
    load(SharedHeader.magicOffset, as: UInt64.self) == SharedHeader.magic(at: address, secret)
  }

  /// The magic word of a header at `address`: splitmix64's finalizer over the address and
  /// the secret, xor the secret. The finalizer is a bijection, so no two headers share a
  /// magic; the secret on both sides of it means one magic seen (a bug's log line) does not
  /// give the secret away by inverting it. It stops forgery by anyone who lacks the secret;
  /// it is not a cryptographic MAC.
  static func magic(at address: UInt, _ secret: UInt64) -> UInt64 {
    var mixed = (UInt64(address) ^ secret) &+ 0x9E37_79B9_7F4A_7C15
    mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
    mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
    return mixed ^ (mixed >> 31) ^ secret
  }

  /// Writes a complete entry for a payload not yet on the list.
  func format(
    size: Int, padding: UInt, owner: DomainOwner, typeTag: UInt64, dropHandler: UInt64,
    secret: UInt64
  ) {
    store(SharedHeader.magic(at: address, secret), SharedHeader.magicOffset)
    store(UInt(0), SharedHeader.nextOffset)
    store(UInt(0), SharedHeader.previousOffset)
    store(UInt64(size), SharedHeader.sizeOffset)
    store(typeTag, SharedHeader.typeTagOffset)
    store(dropHandler, SharedHeader.dropHandlerOffset)
    store(owner.rawValue, SharedHeader.ownerOffset)
    store(UInt32(0), SharedHeader.stateOffset)
    store(UInt32(0), SharedHeader.borrowsOffset)
    store(UInt32(padding), SharedHeader.paddingOffset)
  }

  /// Spoils the magic, so that the payload pointer no longer passes for a shared one.
  func erase() {
    store(UInt64(0), SharedHeader.magicOffset)
  }

  var next: UInt {
    get { load(SharedHeader.nextOffset, as: UInt.self) }
    nonmutating set { store(newValue, SharedHeader.nextOffset) }
  }

  var previous: UInt {
    get { load(SharedHeader.previousOffset, as: UInt.self) }
    nonmutating set { store(newValue, SharedHeader.previousOffset) }
  }

  var size: Int { Int(truncatingIfNeeded: load(SharedHeader.sizeOffset, as: UInt64.self)) }

  var typeTag: UInt64 { load(SharedHeader.typeTagOffset, as: UInt64.self) }

  var dropHandler: UInt64 { load(SharedHeader.dropHandlerOffset, as: UInt64.self) }

  /// While the payload is in transit: the thread it was sent on, as the sender's trusted
  /// library marks it (the drop-handler word, which no payload uses yet). What a thread
  /// unwound past a dead domain had on its way is found by it (`reclaimSent`).
  var sentOn: UInt64 { load(SharedHeader.dropHandlerOffset, as: UInt64.self) }

  var owner: UInt32 { load(SharedHeader.ownerOffset, as: UInt32.self) }

  /// The owner and state words read as one: equal to an owner's id exactly when that owner
  /// holds the payload, is alive and has not given it into a call. Written, it makes an
  /// owner hold the payload with the state clear.
  var ownerWord: UInt64 {
    get { load(SharedHeader.ownerOffset, as: UInt64.self) }
    nonmutating set { store(newValue, SharedHeader.ownerOffset) }
  }

  var state: UInt32 {
    get { load(SharedHeader.stateOffset, as: UInt32.self) }
    nonmutating set { store(newValue, SharedHeader.stateOffset) }
  }

  var isOrphaned: Bool { state & SharedHeader.orphanedFlag != 0 }

  var isInTransit: Bool { state & SharedHeader.inTransitFlag != 0 }

  var borrows: UInt32 {
    get { load(SharedHeader.borrowsOffset, as: UInt32.self) }
    nonmutating set { store(newValue, SharedHeader.borrowsOffset) }
  }

  /// Bytes between the start of the backing block and the header: 0, unless the payload's
  /// alignment is above 64.
  var padding: UInt { UInt(load(SharedHeader.paddingOffset, as: UInt32.self)) }

  /// The pointer the backing heap handed out, which is what goes back to it.
  var block: UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: address &- padding).unsafelyUnwrapped
  }

  /// What the allocation costs its owner: its whole backing block, the registry entry,
  /// padding and the backing heap's own header and rounding included, so that even empty
  /// payloads cannot be allocated without limit.
  var charge: Int { Int(HeapBlock(payload: UInt(bitPattern: block)).size) }

  /// Whether the padding is one `allocate` could have chosen, the payload is aligned to
  /// match, and the payload fits in a backing block the backing heap has handed out. Reads
  /// the backing block's header, so only for a header whose magic matched.
  var hasPlausibleLayout: Bool {
    // No padding means an alignment of at most 64, of which only 16 is certain.
    let padding = self.padding
    let alignment = padding == 0 ? 16 : padding + SharedHeader.size
    guard alignment & (alignment - 1) == 0, alignment <= 4096, payload % alignment == 0 else {
      return false
    }
    let block = HeapBlock(payload: UInt(bitPattern: self.block))
    guard block.isInUse, size >= 0 else { return false }
    // Added with care: a header that passed the magic check may still have been overwritten.
    let (end, endOverflow) = payload.addingReportingOverflow(UInt(size))
    let (blockEnd, blockOverflow) = block.address.addingReportingOverflow(block.size)
    return !endOverflow && !blockOverflow && end <= blockEnd
  }

  /// Whether the neighbours on the list, whose head is `head`, are headers within `bounds`
  /// that point back at this one.
  func isListed(head: UInt, bounds: PayloadBounds) -> Bool {
    let next = self.next
    let previous = self.previous
    if next != 0 {
      let following = SharedHeader(payload: next)
      guard bounds.contains(next), following.hasMagic(bounds.secret), following.previous == payload
      else {
        return false
      }
    }
    if previous == 0 { return head == payload }
    let preceding = SharedHeader(payload: previous)
    return bounds.contains(previous) && preceding.hasMagic(bounds.secret)
      && preceding.next == payload
  }

  /// The entry as a value.
  var snapshot: SharedAllocation {
    SharedAllocation(
      owner: DomainOwner(owner), borrows: Int(borrows), size: size, typeTag: typeTag,
      dropHandler: dropHandler, isOrphaned: isOrphaned, isInTransit: isInTransit)
  }

  private func load<T: BitwiseCopyable>(_ offset: Int, as type: T.Type) -> T {
    pointer.load(fromByteOffset: offset, as: type)
  }

  private func store<T: BitwiseCopyable>(_ value: T, _ offset: Int) {
    pointer.storeBytes(of: value, toByteOffset: offset, as: T.self)
  }
}
