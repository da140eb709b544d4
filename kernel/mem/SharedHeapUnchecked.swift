/// The header layout as public constants, and unchecked header updates for the generated
/// proxies' fast path.
///
/// A proxy checks an RRef once, when the RRef is made (`SharedHeap.entry`), and from then on
/// lends it with single loads and stores on the payload pointer, with no `SharedHeap`
/// instance and no lock: the call that holds the RRef is the only code touching its header.
/// These helpers check nothing; given anything but a live payload, they write into whatever
/// memory lies in front of it. There is no unchecked owner change: the heap charges owners
/// for what they hold, so every change of owner goes through it (`adopt`).
extension SharedHeap {
  /// Offset from the payload of the magic word (UInt64): the header's address (the
  /// payload's minus `headerSize`) mixed with the heap's secret.
  public static let magicOffset = SharedHeader.magicOffset
  /// Offset of the next-older live payload's address (UInt, 0 at the end of the list).
  public static let nextOffset = SharedHeader.nextOffset
  /// Offset of the next-newer live payload's address (UInt, 0 at the head of the list).
  public static let previousOffset = SharedHeader.previousOffset
  /// Offset of the payload's size in bytes (UInt64).
  public static let sizeOffset = SharedHeader.sizeOffset
  /// Offset of the type tag (UInt64).
  public static let typeTagOffset = SharedHeader.typeTagOffset
  /// Offset of the drop handler (UInt64).
  public static let dropHandlerOffset = SharedHeader.dropHandlerOffset
  /// Offset of the owner's id (UInt32). Read as a UInt64, the owner and state words equal
  /// the owner's id exactly when that owner holds the payload, is alive and has not moved
  /// it into a call.
  public static let ownerOffset = SharedHeader.ownerOffset
  /// Offset of the state word (UInt32): `orphanedFlag` and `inTransitFlag`.
  public static let stateOffset = SharedHeader.stateOffset
  /// Offset of the borrow count (UInt32).
  public static let borrowsOffset = SharedHeader.borrowsOffset
  /// Offset of the padding (UInt32): bytes between the backing block and the header.
  public static let paddingOffset = SharedHeader.paddingOffset
  /// The state bit set when the owner died while the payload was borrowed.
  public static let orphanedFlag = SharedHeader.orphanedFlag
  /// The state bit the owner's trusted library sets as it moves the payload into a call;
  /// adoption clears it.
  public static let inTransitFlag = SharedHeader.inTransitFlag
  /// Offset of the word that holds, while a payload is in transit, the thread it was sent
  /// on (UInt64).
  public static let sentOnOffset = SharedHeader.dropHandlerOffset

  /// The magic word a header at `headerAddress` carries in a heap made with `secret`. For
  /// tests and debugging; the kernel never gives a domain the secret.
  public static func headerMagic(at headerAddress: UInt, secret: UInt64) -> UInt64 {
    SharedHeader.magic(at: headerAddress, secret)
  }

  /// Marks the payload in transit, as the owner's trusted library does when it moves the
  /// payload into a call, without checking anything.
  public static func unsafeMarkInTransit(_ payload: UnsafeMutableRawPointer) {
    let state = payload.load(fromByteOffset: stateOffset, as: UInt32.self)
    payload.storeBytes(of: state | inTransitFlag, toByteOffset: stateOffset, as: UInt32.self)
  }

  /// Raises the payload's borrow count, as `borrow` does, without checking the payload or
  /// for overflow. For a proxy lending an RRef it validated when the RRef was made.
  public static func unsafeAddBorrow(_ payload: UnsafeMutableRawPointer) {
    let borrows = payload.load(fromByteOffset: borrowsOffset, as: UInt32.self)
    payload.storeBytes(of: borrows &+ 1, toByteOffset: borrowsOffset, as: UInt32.self)
  }

  /// Lowers the payload's borrow count, undoing `unsafeAddBorrow`, without checking.
  ///
  /// Returns true when that ended the last borrow of an orphan (its owner died during the
  /// call): nothing else will free it, so the caller must pass it to `freeOrphan`.
  public static func unsafeRemoveBorrow(_ payload: UnsafeMutableRawPointer) -> Bool {
    let borrows = payload.load(fromByteOffset: borrowsOffset, as: UInt32.self) &- 1
    payload.storeBytes(of: borrows, toByteOffset: borrowsOffset, as: UInt32.self)
    let state = payload.load(fromByteOffset: stateOffset, as: UInt32.self)
    return borrows == 0 && state & orphanedFlag != 0
  }
}
