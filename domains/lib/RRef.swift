/// RRef: a value in the shared heap, the only kind of memory that crosses domains.
///
/// An `RRef<T>` owns one shared-heap allocation holding a `T` (plain data). It is
/// noncopyable: there is one owner at a time, and dropping it frees the memory. Moving
/// it into a call (`consuming`) hands it to the callee, which becomes its owner in the
/// kernel's registry; lending it (`borrowing`) raises its borrow count for the call, and
/// the lender keeps it even if the callee crashes. Read and write the value through
/// `value`: `letter.value.count += 1`.
///
/// The generated proxies and entry points use `transfer`, `lend`, `endLend` and the
/// `adopting:`, `lent:` and `undelivered:` initializers; domain code does not need them.
@_extern(c, "swiftlet_rref_alloc")
func kernelRRefAllocate(_ size: Int, _ alignment: Int, _ typeTag: UInt64)
  -> UnsafeMutableRawPointer?
@_extern(c, "swiftlet_rref_free") func kernelRRefFree(_ payload: UnsafeMutableRawPointer?)
@_extern(c, "swiftlet_rref_free_orphan") func kernelRRefFreeOrphan(
  _ payload: UnsafeMutableRawPointer?)

/// This domain's number, asked of the kernel once: the call path writes it into the
/// registry header of every RRef it adopts.
nonisolated(unsafe) private var cachedDomainID = UInt32.max

@inline(__always)
func thisDomainID() -> UInt32 {
  if unsafe cachedDomainID == .max { unsafe cachedDomainID = kernelDomainID() }
  return unsafe cachedDomainID
}

/// An RRef in flight: the address of its payload, as a call's arguments carry it.
public struct RRefTransfer: BitwiseCopyable {
  let address: UInt
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

  /// A new shared-heap value owned by this domain, or nil if the shared heap is full.
  public init?(_ value: T) {
    let tag = UInt64(MemoryLayout<T>.size) << 16 | UInt64(MemoryLayout<T>.alignment)
    guard
      let payload = unsafe kernelRRefAllocate(
        MemoryLayout<T>.size, MemoryLayout<T>.alignment, tag)
    else { return nil }
    unsafe payload.initializeMemory(as: T.self, repeating: value, count: 1)
    address = UInt(bitPattern: payload)
    owned = true
  }

  /// An RRef this domain owns already (an element taken out of its own RRefDeque).
  init(owned transfer: RRefTransfer) {
    address = transfer.address
    owned = true
  }

  /// Takes ownership of an RRef moved to this domain: one store into its registry
  /// header. Only generated entry points and proxies adopt, and only addresses the
  /// other side's generated code packed, so the kernel need not check them on this path.
  public init(adopting transfer: RRefTransfer) {
    address = transfer.address
    owned = true
    unsafe payload.storeBytes(
      of: thisDomainID(), toByteOffset: RRefHeader.ownerOffset, as: UInt32.self)
  }

  /// An RRef this domain moved into a call that never reached the callee: still its
  /// own, so the proxy takes it back (and drops it, which frees it).
  public init(undelivered transfer: RRefTransfer) {
    self.init(owned: transfer)
  }

  /// A view of an RRef lent to this domain for one call.
  public init(lent transfer: RRefTransfer) {
    address = transfer.address
    owned = false
  }

  deinit {
    if owned { unsafe kernelRRefFree(payload) }
  }

  /// The value, read and written in place in the shared heap.
  public var value: T {
    get { unsafe payload.load(as: T.self) }
    nonmutating set { unsafe payload.storeBytes(of: newValue, as: T.self) }
  }

  /// Gives the RRef up for a move: the receiver adopts it, nothing is freed here.
  public consuming func transfer() -> RRefTransfer {
    let transfer = RRefTransfer(address: address)
    discard self
    return transfer
  }

  /// Lends the RRef for a call: its borrow count goes up until `endLend`.
  public func lend() -> RRefTransfer {
    let borrows = unsafe payload.load(fromByteOffset: RRefHeader.borrowsOffset, as: UInt32.self)
    unsafe payload.storeBytes(
      of: borrows &+ 1, toByteOffset: RRefHeader.borrowsOffset, as: UInt32.self)
    return RRefTransfer(address: address)
  }

  /// Ends a loan. If the owner died during it and this was the last borrow, the kernel
  /// frees the allocation (it was orphaned).
  public func endLend() {
    let borrows =
      unsafe payload.load(fromByteOffset: RRefHeader.borrowsOffset, as: UInt32.self) &- 1
    unsafe payload.storeBytes(of: borrows, toByteOffset: RRefHeader.borrowsOffset, as: UInt32.self)
    let state = unsafe payload.load(fromByteOffset: RRefHeader.stateOffset, as: UInt32.self)
    if borrows == 0 && state & RRefHeader.orphanedFlag != 0 {
      unsafe kernelRRefFreeOrphan(payload)
    }
  }

  /// The domain that owns it, as the kernel's registry says (for tests and logs).
  public var owner: UInt32 {
    unsafe payload.load(fromByteOffset: RRefHeader.ownerOffset, as: UInt32.self)
  }

  /// How many calls it is lent to right now.
  public var borrows: UInt32 {
    unsafe payload.load(fromByteOffset: RRefHeader.borrowsOffset, as: UInt32.self)
  }
}

/// Where the kernel's registry keeps owner and borrow count, before the payload
/// (kernel/mem/SharedHeapHeader.swift has the whole layout).
enum RRefHeader {
  static let ownerOffset = -16
  static let stateOffset = -12
  static let borrowsOffset = -8
  static let orphanedFlag: UInt32 = 1
}
