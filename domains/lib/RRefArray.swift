/// RRefArray and RRefDeque: fixed-size collections in the shared heap, after RedLeaf's.
///
/// `RRefArray<T, N>` is `N` plain values in one shared-heap allocation, owned, moved and
/// lent as a unit, like an RRef. `RRefDeque<T, N>` is a ring of up to `N` RRefs, each
/// still a registry entry of its own; pushing into a full deque hands the element back
/// instead of losing it. Moving a deque into or out of a call moves every element with
/// it: the receiver adopts the ring and each element (docs/DOMAINS.md, the buffer
/// rules). A deque cannot be lent: a borrower could take elements out of it.
///
/// As for RRef, the generated proxies and entry points use `transfer`, `lend`,
/// `endLend` and the `adopting:`, `lent:` and `undelivered:` initializers.

public struct RRefArray<T: BitwiseCopyable, let N: Int>: ~Copyable {
  private let storage: RRef<InlineArray<N, T>>

  /// `N` copies of `value`, or nil if the shared heap is full.
  public init?(repeating value: T) {
    guard let storage = RRef(InlineArray<N, T>(repeating: value)) else { return nil }
    self.storage = storage
  }

  public var count: Int { N }

  public subscript(index: Int) -> T {
    get { storage.value[index] }
    nonmutating set { storage.value[index] = newValue }
  }

  /// Takes ownership of an array moved to this domain.
  public init(adopting transfer: RRefTransfer) {
    storage = RRef(adopting: transfer)
  }

  /// A view of an array lent to this domain for one call.
  public init(lent transfer: RRefTransfer) {
    storage = RRef(lent: transfer)
  }

  /// An array moved into a call that never reached the callee: this domain's again.
  public init(undelivered transfer: RRefTransfer) {
    storage = RRef(undelivered: transfer)
  }

  /// Gives the array up for a move: the receiver adopts it.
  public consuming func transfer() -> RRefTransfer { storage.transfer() }

  /// Lends the array for a call: its borrow count goes up until `endLend`.
  public func lend() -> RRefTransfer { storage.lend() }

  /// Ends a loan (see RRef.endLend).
  public func endLend() { storage.endLend() }

  /// The domain that owns it.
  public var owner: UInt32 { storage.owner }

  /// How many calls it is lent to right now.
  public var borrows: UInt32 { storage.borrows }
}

/// The deque's bookkeeping, in the shared heap with it. RRefDeque reads and writes its
/// fields in place, at the offsets below (a copy of the whole ring per push or pop
/// cost more than a thousand instructions for 32 elements).
@frozen
public struct RRefDequeStorage<let N: Int>: BitwiseCopyable {
  var head = 0
  var count = 0
  var elements = InlineArray<N, UInt>(repeating: 0)

  static var headOffset: Int { 0 }
  static var countOffset: Int { 8 }
  static func elementOffset(_ slot: Int) -> Int { 16 + 8 * slot }
}

@frozen
public struct RRefDeque<T: BitwiseCopyable, let N: Int>: ~Copyable {
  /// The ring's shared-heap address, managed here like RRef's (this file is trusted).
  private let address: UInt

  private var base: UnsafeMutableRawPointer { unsafe UnsafeMutableRawPointer(bitPattern: address)! }

  private var head: Int {
    get { unsafe base.load(fromByteOffset: RRefDequeStorage<N>.headOffset, as: Int.self) }
    nonmutating set {
      unsafe base.storeBytes(
        of: newValue, toByteOffset: RRefDequeStorage<N>.headOffset, as: Int.self)
    }
  }

  private var storedCount: Int {
    get { unsafe base.load(fromByteOffset: RRefDequeStorage<N>.countOffset, as: Int.self) }
    nonmutating set {
      unsafe base.storeBytes(
        of: newValue, toByteOffset: RRefDequeStorage<N>.countOffset, as: Int.self)
    }
  }

  /// The address of the RRef in ring slot `slot` (0 ..< N).
  private func element(_ slot: Int) -> UInt {
    unsafe base.load(fromByteOffset: RRefDequeStorage<N>.elementOffset(slot), as: UInt.self)
  }

  private func setElement(_ slot: Int, _ element: UInt) {
    unsafe base.storeBytes(
      of: element, toByteOffset: RRefDequeStorage<N>.elementOffset(slot), as: UInt.self)
  }

  /// An empty deque, or nil if the shared heap is full.
  public init?() {
    precondition(
      MemoryLayout<RRefDequeStorage<N>>.size == RRefDequeStorage<N>.elementOffset(N),
      "RRefDeque: the ring's layout is not the one its accessors assume")
    guard let storage = RRef(RRefDequeStorage<N>()) else { return nil }
    address = storage.transfer().address
  }

  /// Takes ownership of a deque moved to this domain, and of every element in it: a
  /// store into each registry header, as RRef(adopting:) does.
  public init(adopting transfer: RRefTransfer) {
    address = transfer.address
    let me = thisDomainID()
    unsafe UnsafeMutableRawPointer(bitPattern: address)!.storeBytes(
      of: me, toByteOffset: RRefHeader.ownerOffset, as: UInt32.self)
    let head = self.head
    for offset in 0..<storedCount {
      unsafe UnsafeMutableRawPointer(bitPattern: element((head + offset) % N))!
        .storeBytes(of: me, toByteOffset: RRefHeader.ownerOffset, as: UInt32.self)
    }
  }

  /// A deque moved into a call that never reached the callee: it and its elements are
  /// still this domain's.
  public init(undelivered transfer: RRefTransfer) {
    address = transfer.address
  }

  /// Frees the elements left in it, then the ring.
  deinit {
    while popFront() != nil {}
    unsafe kernelRRefFree(UnsafeMutableRawPointer(bitPattern: address))
  }

  public var count: Int { storedCount }
  public var isFull: Bool { count == N }
  public var isEmpty: Bool { count == 0 }

  /// Appends `element`, or hands it back if the deque is full.
  public func pushBack(_ element: consuming RRef<T>) -> RRef<T>? {
    let count = storedCount
    guard count < N else { return element }
    setElement((head + count) % N, element.transfer().address)
    storedCount = count + 1
    return nil
  }

  /// Takes the first element out, or nil if the deque is empty.
  public func popFront() -> RRef<T>? {
    let count = storedCount
    guard count > 0 else { return nil }
    let head = self.head
    let first = element(head)
    self.head = (head + 1) % N
    storedCount = count - 1
    return RRef(owned: RRefTransfer(address: first))
  }

  /// Gives the deque up for a move; the receiver adopts it and its elements.
  public consuming func transfer() -> RRefTransfer {
    let transfer = RRefTransfer(address: address)
    discard self
    return transfer
  }

  /// The domain that owns the deque itself.
  public var owner: UInt32 {
    unsafe UnsafeMutableRawPointer(bitPattern: address)!.load(
      fromByteOffset: RRefHeader.ownerOffset, as: UInt32.self)
  }
}
