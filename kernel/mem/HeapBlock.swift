/// The layout of one heap block: a 16-byte header, then the payload.
///
/// The header holds the block's size (header included) and a tag saying whether the
/// block is in use or free. Tags mix a constant with the block's own address, so that
/// a header copied to another address, by a stray write, does not pass for one there.
/// A free block also keeps the address of the next free block at the start of its
/// payload, which is why no block is smaller than `minimumSize`.
struct HeapBlock {
  /// Bytes in front of the payload: the size, then the tag.
  static let headerSize: UInt = 16
  /// Every block starts, and every payload starts, at a multiple of this.
  static let alignment: UInt = 16
  /// A header and room for the free-list link.
  static let minimumSize: UInt = 32

  private static let inUseMagic: UInt = 0xA11C_A7ED_A11C_A7ED
  private static let freeMagic: UInt = 0xF4EE_B10C_F4EE_B10C

  /// Where the header starts.
  let address: UInt

  init(address: UInt) {
    self.address = address
  }

  /// The block whose payload starts at `payload`.
  init(payload: UInt) {
    self.address = payload - HeapBlock.headerSize
  }

  /// The size of the block, header included.
  var size: UInt {
    get { header.load(as: UInt.self) }
    nonmutating set { header.storeBytes(of: newValue, as: UInt.self) }
  }

  /// The first address past the block.
  var end: UInt { address + size }

  var payload: UnsafeMutableRawPointer { header + Int(HeapBlock.headerSize) }

  var isInUse: Bool { tag == HeapBlock.inUseMagic ^ address }

  var isFree: Bool { tag == HeapBlock.freeMagic ^ address }

  func markInUse() {
    tag = HeapBlock.inUseMagic ^ address
  }

  func markFree() {
    tag = HeapBlock.freeMagic ^ address
  }

  /// For a free block, the next free block in address order (nil at the end of the list).
  var nextFree: HeapBlock? {
    get {
      let next = payload.load(as: UInt.self)
      return next == 0 ? nil : HeapBlock(address: next)
    }
    nonmutating set { payload.storeBytes(of: newValue?.address ?? 0, as: UInt.self) }
  }

  /// Whether the size in the header could be right for a block at this address in
  /// `region`; checked before trusting a header whose block may have been overrun.
  func hasPlausibleSize(in region: HeapRegion) -> Bool {
    let size = self.size
    return size >= HeapBlock.minimumSize && size % HeapBlock.alignment == 0
      && size <= region.end - address
  }

  /// The size of a block whose payload holds `payloadSize` bytes, or nil if `payloadSize`
  /// is negative or so large that the size overflows.
  static func size(holding payloadSize: Int) -> UInt? {
    guard payloadSize >= 0 else { return nil }
    let payloadRoom = max(UInt(payloadSize), minimumSize - headerSize)
    guard let rounded = payloadRoom.roundedUp(toMultipleOf: alignment) else { return nil }
    let (size, overflow) = rounded.addingReportingOverflow(headerSize)
    return overflow ? nil : size
  }

  private var header: UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: address).unsafelyUnwrapped
  }

  private var tag: UInt {
    get { header.load(fromByteOffset: 8, as: UInt.self) }
    nonmutating set { header.storeBytes(of: newValue, toByteOffset: 8, as: UInt.self) }
  }
}
