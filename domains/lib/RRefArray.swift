/// RRefArray and RRefDeque: fixed-size collections in the shared heap, after RedLeaf's.
///
/// `RRefArray<T, N>` is `N` plain values in one shared-heap allocation, owned, moved and
/// lent as a unit, like an RRef. `RRefDeque<T, N>` is a ring of up to `N` RRefs, each
/// still a registry entry of its own; pushing into a full deque hands the element back
/// instead of losing it. Moving a deque into or out of a call moves every element with
/// it: the sender marks the ring and each element in transit, the receiver adopts the
/// ring and then each element through the kernel (docs/DOMAINS.md, the buffer rules). A
/// deque cannot be lent: a borrower could take elements out of it.
///
/// As for RRef, the transfers and what makes, adopts, lends or views them are `@unsafe`:
/// for generated code only.

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

  /// The storage's transfer: the same address, typed as what it is.
  private static func storage(
    _ transfer: RRefTransfer<RRefArray<T, N>>
  ) -> RRefTransfer<RRef<InlineArray<N, T>>> {
    unsafe RRefTransfer(address: transfer.address)
  }

  /// Takes ownership of an array moved to this domain from `sender` (RRef's, as for an
  /// RRef); nil if the kernel refuses.
  @unsafe
  public init?(adopting transfer: RRefTransfer<RRefArray<T, N>>, from sender: Int64) {
    guard let storage = unsafe RRef(adopting: Self.storage(transfer), from: sender) else {
      return nil
    }
    self.storage = storage
  }

  /// A view of an array lent to this domain for one call; nil unless it is lent.
  @unsafe
  public init?(lent transfer: RRefTransfer<RRefArray<T, N>>) {
    guard let storage = unsafe RRef(lent: Self.storage(transfer)) else { return nil }
    self.storage = storage
  }

  /// Frees an array moved into a call that did not take it (see RRef.dropUndelivered).
  @unsafe
  public static func dropUndelivered(_ transfer: RRefTransfer<RRefArray<T, N>>) {
    unsafe RRef.dropUndelivered(storage(transfer))
  }

  /// Gives the array up for a move (see RRef.transfer).
  @unsafe
  public consuming func transfer() -> RRefTransfer<RRefArray<T, N>> {
    unsafe RRefTransfer(address: storage.transfer().address)
  }

  /// Lends the array for a call: its borrow count goes up until `endLend`.
  @unsafe
  public func lend() -> RRefTransfer<RRefArray<T, N>> {
    unsafe RRefTransfer(address: storage.lend().address)
  }

  /// Ends a loan (see RRef.endLend).
  @unsafe
  public func endLend() { unsafe storage.endLend() }

  /// The domain that owns it.
  public var owner: UInt32 { storage.owner }

  /// How many calls it is lent to right now.
  public var borrows: UInt32 { storage.borrows }
}

/// The deque's bookkeeping, in the shared heap with it. RRefDeque reads and writes its
/// fields in place, at the offsets below (a copy of the whole ring per push or pop
/// cost more than a thousand instructions for 32 elements). The kernel reads the same
/// layout when it adopts a deque (kernel/mem/SharedHeap.swift, DequeRing).
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
    address = storage.releaseToContainer()
  }

  /// The ring's registry tag (it is allocated as an RRef of its storage).
  private static var ringTag: UInt64 { RRef<RRefDequeStorage<N>>.typeTag }

  /// Takes ownership of a deque moved to this domain from `sender` (see RRef's), and of
  /// every element in it; nil if the kernel refuses the ring or any element. One kernel
  /// call adopts them all or none (kernel/mem/SharedHeap.swift, adoptDeque, which reads
  /// the ring as RRefDequeStorage lays it out): a refused deque stays the sender's, in
  /// transit, for it to take back, and nothing stays behind in this domain.
  @unsafe
  public init?(adopting transfer: RRefTransfer<RRefDeque<T, N>>, from sender: Int64) {
    let ring = unsafe transfer.address
    let adopted = unsafe kernelRRefAdoptDeque(
      UnsafeMutableRawPointer(bitPattern: ring), Self.ringTag, RRef<T>.typeTag, sender)
    guard adopted >= 0 else { return nil }
    address = ring
  }

  /// Frees a deque moved into a call that did not take it, with its elements: still this
  /// domain's, in transit (see RRef.dropUndelivered). An element that is not (it cannot
  /// be while the ring is) is left alone.
  @unsafe
  public static func dropUndelivered(_ transfer: RRefTransfer<RRefDeque<T, N>>) {
    let ring = unsafe transfer.address
    guard unsafe RRefHeader(ring).takeBack(ringTag) else {
      // The ring was adopted, and with it every element (one kernel call adopts them all):
      // none is this domain's any more. The kernel's sweep of what this thread sent finds
      // anything still in transit, should a ring ever go without its elements.
      kernelRRefFreeSent()
      return
    }
    let deque = RRefDeque(owning: ring)
    let head = deque.head
    for offset in 0..<deque.storedCount {
      let slot = (head + offset) % N
      if !(unsafe RRefHeader(deque.element(slot)).takeBack(RRef<T>.typeTag)) {
        deque.setElement(slot, 0)
      }
    }
  }

  private init(owning ring: UInt) { address = ring }

  /// Frees the elements left in it (a slot emptied by a refused move holds 0), then the
  /// ring.
  deinit {
    let head = self.head
    for offset in 0..<storedCount {
      let element = element((head + offset) % N)
      if element != 0 { unsafe kernelRRefFree(UnsafeMutableRawPointer(bitPattern: element)) }
    }
    unsafe kernelRRefFree(UnsafeMutableRawPointer(bitPattern: address))
  }

  public var count: Int { storedCount }
  public var isFull: Bool { count == N }
  public var isEmpty: Bool { count == 0 }

  /// Appends `element`, or hands it back if the deque is full. Traps if `element` is not
  /// this domain's own to store (a lent view).
  public func pushBack(_ element: consuming RRef<T>) -> RRef<T>? {
    let count = storedCount
    guard count < N else { return element }
    unsafe RRefHeader(element.address).checkMovable(by: thisDomainID())
    setElement((head + count) % N, element.releaseToContainer())
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
    return RRef(owned: first)
  }

  /// Gives the deque up for a move: marks the ring and every element in transit, for the
  /// receiver to adopt. Traps unless all of them are this domain's to move.
  @unsafe
  public consuming func transfer() -> RRefTransfer<RRefDeque<T, N>> {
    let me = thisDomainID()
    unsafe RRefHeader(address).checkMovable(by: me)
    let head = self.head
    for offset in 0..<storedCount {
      unsafe RRefHeader(element((head + offset) % N)).beginTransit(by: me)
    }
    unsafe RRefHeader(address).beginTransit(by: me)
    let transfer = unsafe RRefTransfer<RRefDeque<T, N>>(address: address)
    discard self
    return unsafe transfer
  }

  /// The domain that owns the deque itself.
  public var owner: UInt32 { unsafe RRefHeader(address).owner }
}
