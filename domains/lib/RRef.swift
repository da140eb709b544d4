/// RRef: a value in the shared heap, the only kind of memory that crosses domains.
///
/// An `RRef<T>` owns one shared-heap allocation holding a `T` (plain data). It is
/// noncopyable: there is one owner at a time, and dropping it frees the memory. Moving
/// it into a call (`consuming`) hands it to the callee, which becomes its owner in the
/// kernel's registry; lending it (`borrowing`) raises its borrow count for the call, and
/// the lender keeps it even if the callee crashes. Read and write the value through
/// `value`: `letter.value.count += 1`.
///
/// What crosses a call is an `RRefTransfer`, the payload's address. Whoever could make
/// one from a number could reach any memory, so the type and everything that makes,
/// adopts, lends or views one is `@unsafe`: domain code cannot name them (strict memory
/// safety and scripts/lint-domains.py), only this library and generated code can. And
/// the receiver does not trust the sender's generated code either:
///
/// - A move: the sender's `transfer()` traps unless the RRef is its own, lent to nobody
///   and not already moving, then marks it in transit in its registry header. The
///   receiver adopts it through the kernel (`swiftlet_rref_adopt`), which checks that
///   it is a live allocation of the expected type tag, in transit, unborrowed, and sent
///   by the domain on the other end of the call, and only then makes the receiver its
///   owner. A refused adoption is a refused call, never a wrong owner.
/// - A loan: the callee's view checks, inline, that the payload is of its type and lent
///   (borrow count above zero). A lent object cannot be adopted (it is not in
///   transit, and it is borrowed).
@_extern(c, "swiftlet_rref_alloc")
func kernelRRefAllocate(_ size: Int, _ alignment: Int, _ typeTag: UInt64)
  -> UnsafeMutableRawPointer?
@_extern(c, "swiftlet_rref_free") func kernelRRefFree(_ payload: UnsafeMutableRawPointer?)
@_extern(c, "swiftlet_rref_free_orphan") func kernelRRefFreeOrphan(
  _ payload: UnsafeMutableRawPointer?)
/// 0 if this domain now owns `payload`; non-zero if the kernel refused (see RRefHeader).
@_extern(c, "swiftlet_rref_adopt")
func kernelRRefAdopt(_ payload: UnsafeMutableRawPointer?, _ typeTag: UInt64, _ fromSlot: Int64)
  -> Int32

/// Where the kernel keeps the running thread's control block address, asked once: a
/// move is marked with the thread it is sent on, so that if the thread is unwound past
/// a domain that died before adopting it, the kernel finds and frees it
/// (SharedHeap.reclaimSent).
@_extern(c, "swiftlet_thread_word") func kernelThreadWord() -> UnsafePointer<UInt64>
/// Frees what this domain sent on the running thread and still holds in transit.
@_extern(c, "swiftlet_rref_free_sent") func kernelRRefFreeSent()
/// The element count if this domain now owns the deque's ring at `ring` and every element
/// it lists; -1 if the kernel refused (and nothing changed). See RRefDeque.
@_extern(c, "swiftlet_rref_adopt_deque")
func kernelRRefAdoptDeque(
  _ ring: UnsafeMutableRawPointer?, _ ringTag: UInt64, _ elementTag: UInt64, _ fromSlot: Int64
) -> Int64
nonisolated(unsafe) private var cachedThreadWord: UnsafePointer<UInt64>? = nil

@inline(__always)
func runningThreadTag() -> UInt64 {
  if unsafe cachedThreadWord == nil { unsafe cachedThreadWord = kernelThreadWord() }
  return unsafe cachedThreadWord.unsafelyUnwrapped.pointee
}

/// This domain's number, asked of the kernel once: the move checks compare it with the
/// owner in the registry header.
nonisolated(unsafe) private var cachedDomainID = UInt32.max

@inline(__always)
func thisDomainID() -> UInt32 {
  if unsafe cachedDomainID == .max { unsafe cachedDomainID = kernelDomainID() }
  return unsafe cachedDomainID
}

/// An RRef, RRefArray or RRefDeque in flight: the address of its payload, as a call's
/// arguments and result slot carry it. `Object` is what it is, so that generated code
/// cannot adopt an `RRef<A>` as an `RRef<B>` (the kernel checks the size and alignment
/// too).
@unsafe
public struct RRefTransfer<Object: ~Copyable>: BitwiseCopyable {
  let address: UInt

  init(address: UInt) { unsafe self.address = address }
}

/// Where a moved object comes from, as the kernel's adoption check takes it.
public enum RRefSender {
  /// A callee adopting an argument: the caller of the innermost call into this domain.
  public static let caller: Int64 = -1

  /// A caller adopting a result of the method `method` behind `handle`: the domain
  /// behind that export slot, which it just called.
  @unsafe
  public static func callee(_ handle: InterfaceHandle, method: UInt64) -> Int64 {
    Int64(truncatingIfNeeded: unsafe handle.rawValue &+ method)
  }
}

@frozen
public struct RRef<T: BitwiseCopyable>: ~Copyable {
  /// The payload's address. Kept as a number, so the type holds no pointer; each
  /// access below turns it into one, in this trusted file only.
  let address: UInt
  /// False for the view a callee gets of a lent RRef: dropping that frees nothing.
  private let owned: Bool

  private var payload: UnsafeMutableRawPointer {
    unsafe UnsafeMutableRawPointer(bitPattern: address)!
  }

  /// What the registry records as this RRef's type, at allocation and at every check.
  static var typeTag: UInt64 { unsafe RRefHeader.typeTag(of: T.self) }

  /// A new shared-heap value owned by this domain, or nil if the shared heap is full.
  public init?(_ value: T) {
    guard
      let payload = unsafe kernelRRefAllocate(
        MemoryLayout<T>.size, MemoryLayout<T>.alignment, Self.typeTag)
    else { return nil }
    unsafe payload.initializeMemory(as: T.self, repeating: value, count: 1)
    address = UInt(bitPattern: payload)
    owned = true
  }

  /// An RRef this domain owns already (an element taken out of its own RRefDeque).
  init(owned address: UInt) {
    self.address = address
    owned = true
  }

  /// Takes ownership of an RRef moved to this domain from `sender` (RRefSender), if the
  /// kernel agrees that it is one; nil if it refuses.
  @unsafe
  public init?(adopting transfer: RRefTransfer<RRef<T>>, from sender: Int64) {
    guard unsafe RRefHeader.adopt(transfer.address, Self.typeTag, from: sender) else {
      return nil
    }
    address = unsafe transfer.address
    owned = true
  }

  /// A view of an RRef lent to this domain for one call; nil unless it is a live
  /// allocation of this type that is lent.
  @unsafe
  public init?(lent transfer: RRefTransfer<RRef<T>>) {
    guard unsafe RRefHeader(transfer.address).isLent(Self.typeTag) else { return nil }
    address = unsafe transfer.address
    owned = false
  }

  /// Frees an RRef this domain moved into a call that did not take it (the callee was
  /// never entered, crashed before adopting it, or refused the call): still this
  /// domain's, in transit. Anything else is left alone.
  @unsafe
  public static func dropUndelivered(_ transfer: RRefTransfer<RRef<T>>) {
    guard unsafe RRefHeader(transfer.address).takeBack(typeTag) else { return }
    _ = unsafe RRef(owned: transfer.address)
  }

  deinit {
    if owned { unsafe kernelRRefFree(payload) }
  }

  /// The value, read and written in place in the shared heap.
  public var value: T {
    get { unsafe payload.load(as: T.self) }
    nonmutating set { unsafe payload.storeBytes(of: newValue, as: T.self) }
  }

  /// Gives the RRef up for a move: marks it in transit for the receiver to adopt.
  /// Traps unless it is this domain's own, lent to nobody and not moving already.
  @unsafe
  public consuming func transfer() -> RRefTransfer<RRef<T>> {
    unsafe RRefHeader(address).beginTransit(by: thisDomainID())
    let transfer = unsafe RRefTransfer<RRef<T>>(address: address)
    discard self
    return unsafe transfer
  }

  /// Gives the address to a container of this domain (an RRefDeque's ring), which frees
  /// it when it is dropped: nothing is freed or marked here.
  consuming func releaseToContainer() -> UInt {
    let address = self.address
    discard self
    return address
  }

  /// Lends the RRef for a call: its borrow count goes up until `endLend`.
  @unsafe
  public func lend() -> RRefTransfer<RRef<T>> {
    let header = unsafe RRefHeader(address)
    unsafe header.borrows = header.borrows &+ 1
    return unsafe RRefTransfer(address: address)
  }

  /// Ends a loan. If the owner died during it and this was the last borrow, the kernel
  /// frees the allocation (it was orphaned).
  @unsafe
  public func endLend() {
    let header = unsafe RRefHeader(address)
    let borrows = unsafe header.borrows &- 1
    unsafe header.borrows = borrows
    if unsafe borrows == 0 && header.state & RRefHeader.orphanedFlag != 0 {
      unsafe kernelRRefFreeOrphan(payload)
    }
  }

  /// The domain that owns it, as the kernel's registry says (for tests and logs).
  public var owner: UInt32 { unsafe RRefHeader(address).owner }

  /// How many calls it is lent to right now.
  public var borrows: UInt32 { unsafe RRefHeader(address).borrows }
}

/// The kernel's registry entry in front of a payload, as the trusted library reads and
/// writes it (kernel/mem/SharedHeapHeader.swift has the whole layout and owns it).
@unsafe
struct RRefHeader {
  static let typeTagOffset = -32
  /// While in transit: the thread it was sent on (kernel/mem/SharedHeapHeader.swift).
  static let sentOnOffset = -24
  static let ownerOffset = -16
  static let stateOffset = -12
  static let borrowsOffset = -8
  /// State bits: the owner died while the payload was lent; it is moving between domains.
  static let orphanedFlag: UInt32 = 1
  static let inTransitFlag: UInt32 = 2

  let payload: UnsafeMutableRawPointer

  init(_ address: UInt) { unsafe payload = UnsafeMutableRawPointer(bitPattern: address)! }

  /// How the registry tags a payload of type `T`: its size and alignment.
  static func typeTag<T>(of type: T.Type) -> UInt64 {
    UInt64(MemoryLayout<T>.size) << 16 | UInt64(MemoryLayout<T>.alignment)
  }

  /// Asks the kernel to make this domain the owner of the moved payload at `address`.
  static func adopt(_ address: UInt, _ typeTag: UInt64, from sender: Int64) -> Bool {
    unsafe kernelRRefAdopt(UnsafeMutableRawPointer(bitPattern: address), typeTag, sender) == 0
  }

  var owner: UInt32 { unsafe payload.load(fromByteOffset: Self.ownerOffset, as: UInt32.self) }

  var state: UInt32 {
    get { unsafe payload.load(fromByteOffset: Self.stateOffset, as: UInt32.self) }
    nonmutating set {
      unsafe payload.storeBytes(of: newValue, toByteOffset: Self.stateOffset, as: UInt32.self)
    }
  }

  var borrows: UInt32 {
    get { unsafe payload.load(fromByteOffset: Self.borrowsOffset, as: UInt32.self) }
    nonmutating set {
      unsafe payload.storeBytes(of: newValue, toByteOffset: Self.borrowsOffset, as: UInt32.self)
    }
  }

  /// Owner and state as one word: equal to a domain's id exactly when that domain owns
  /// the payload, is alive, and the payload is not in transit.
  var ownerWord: UInt64 {
    unsafe payload.load(fromByteOffset: Self.ownerOffset, as: UInt64.self)
  }

  var typeTag: UInt64 {
    unsafe payload.load(fromByteOffset: Self.typeTagOffset, as: UInt64.self)
  }

  /// Traps unless `domain` may move or store the payload: it owns it, nobody borrows it,
  /// it is not in transit. A lent view fails this too (it is borrowed).
  func checkMovable(by domain: UInt32) {
    guard unsafe ownerWord == UInt64(domain) && borrows == 0 else {
      preconditionFailure(
        "RRef: only an RRef this domain owns, lent to nobody and not moving already, can move")
    }
  }

  /// Checks that `domain` may move the payload, then marks it in transit.
  func beginTransit(by domain: UInt32) {
    unsafe checkMovable(by: domain)
    unsafe payload.storeBytes(
      of: runningThreadTag(), toByteOffset: Self.sentOnOffset, as: UInt64.self)
    unsafe state = Self.inTransitFlag
  }

  /// A view of a loan may be made: a payload of `typeTag`, lent. (Whether the address is
  /// an allocation at all only the kernel can tell: the header's magic is keyed with a
  /// secret the library never sees. The address itself came from generated code, which
  /// domain code cannot give a number.)
  func isLent(_ typeTag: UInt64) -> Bool {
    unsafe borrows > 0 && self.typeTag == typeTag
  }

  /// Ends the transit of a payload this domain sent and nobody adopted: true if it was
  /// this domain's, in transit, of `typeTag` and unborrowed (it is this domain's again).
  func takeBack(_ typeTag: UInt64) -> Bool {
    let me = UInt64(thisDomainID())
    guard
      unsafe ownerWord == me | UInt64(Self.inTransitFlag) << 32
        && borrows == 0 && self.typeTag == typeTag
    else { return false }
    unsafe state = 0
    return true
  }
}
