/// The layout of one slab: a 4 KiB page of objects of one size class, its header in front.
///
/// The header takes the first 64 bytes of the page: a tag, the links of the list the slab
/// is on, its size class, how many of its objects are in use, and a bitmap with one bit
/// per object, set while the object is in use. The bitmap is the only record of which
/// objects are free, so nothing is written into freed objects: a write through a dangling
/// pointer cannot corrupt the heap, and a second free of an object finds its bit clear.
/// As in `HeapBlock`, the tag mixes a constant with the page's address, so that a header
/// copied elsewhere does not pass for one there.
struct Slab: Equatable {
  /// Bytes in a slab; slabs start at multiples of it.
  static let size = 4096
  /// Bytes in front of the objects' area, which the header uses.
  static let headerSize = 64
  /// Room for 256 objects; the 16-byte class, with the most, has 252.
  private static let bitmapWords = 4
  private static let magic: UInt = 0x51AB_5EED_51AB_5EED

  // Byte offsets of the header's fields.
  private static let tagOffset = 0
  private static let nextOffset = 8
  private static let previousOffset = 16
  private static let classOffset = 24
  private static let inUseOffset = 26
  private static let bitmapOffset = 32

  /// Where the page starts.
  let address: UInt

  init(address: UInt) {
    self.address = address
  }

  /// The slab whose page holds `address`, whether or not that page is a slab.
  init(containing address: UInt) {
    self.address = address & ~UInt(Slab.size - 1)
  }

  var page: UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: address).unsafelyUnwrapped
  }

  /// The last address in the page; unlike the end, it cannot overflow.
  var lastAddress: UInt { address | UInt(Slab.size - 1) }

  /// Whether the page holds a slab header for this address.
  var isTagged: Bool { word(at: Slab.tagOffset) == Slab.magic ^ address }

  /// Turns the page into an empty slab of `sizeClass`, on no list.
  func format(as sizeClass: SizeClass) {
    assert(sizeClass.objectsPerSlab <= Slab.bitmapWords * UInt64.bitWidth)
    page.initializeMemory(as: UInt8.self, repeating: 0, count: Slab.headerSize)
    setWord(Slab.magic ^ address, at: Slab.tagOffset)
    page.storeBytes(of: UInt16(sizeClass.index), toByteOffset: Slab.classOffset, as: UInt16.self)
  }

  /// Clears the tag, before the page goes back to its source: a late free of a pointer
  /// into it is then refused rather than taken for a free in a slab.
  func erase() {
    setWord(0, at: Slab.tagOffset)
  }

  /// The size class the header names, or nil if it names none.
  var sizeClass: SizeClass? {
    SizeClass(index: Int(page.load(fromByteOffset: Slab.classOffset, as: UInt16.self)))
  }

  /// Objects in use.
  var inUse: Int {
    get { Int(page.load(fromByteOffset: Slab.inUseOffset, as: UInt16.self)) }
    nonmutating set {
      page.storeBytes(of: UInt16(newValue), toByteOffset: Slab.inUseOffset, as: UInt16.self)
    }
  }

  /// The next slab on the list this one is on.
  var next: Slab? {
    get { slab(at: Slab.nextOffset) }
    nonmutating set { setWord(newValue?.address ?? 0, at: Slab.nextOffset) }
  }

  /// The slab before this one on its list.
  var previous: Slab? {
    get { slab(at: Slab.previousOffset) }
    nonmutating set { setWord(newValue?.address ?? 0, at: Slab.previousOffset) }
  }

  /// Whether any of the page lies in `region`.
  func overlaps(_ region: HeapRegion) -> Bool {
    region.start <= lastAddress && address < region.end
  }

  /// Puts the slab at the front of the list that starts with `head`.
  func push(onto head: inout Slab?) {
    previous = nil
    next = head
    head?.previous = self
    head = self
  }

  /// Takes the slab off the list that starts with `head`.
  func remove(from head: inout Slab?) {
    if let previous {
      previous.next = next
    } else {
      head = next
    }
    next?.previous = previous
    next = nil
    previous = nil
  }

  /// The address of object `index` of `sizeClass`.
  func object(_ index: Int, of sizeClass: SizeClass) -> UnsafeMutableRawPointer {
    page + sizeClass.firstObjectOffset + index * sizeClass.objectSize
  }

  /// The index of the object of `sizeClass` starting at `address` in this page, or nil if
  /// no object starts there.
  func objectIndex(at address: UInt, of sizeClass: SizeClass) -> Int? {
    let offset = Int(address - self.address)
    guard offset >= sizeClass.firstObjectOffset, offset % sizeClass.objectSize == 0 else {
      return nil
    }
    let index = (offset - sizeClass.firstObjectOffset) / sizeClass.objectSize
    return index < sizeClass.objectsPerSlab ? index : nil
  }

  func isInUse(_ index: Int) -> Bool {
    bitmapWord(index / 64) & (1 << UInt64(index % 64)) != 0
  }

  func setInUse(_ index: Int, _ inUse: Bool) {
    let mask: UInt64 = 1 << UInt64(index % 64)
    let word = bitmapWord(index / 64)
    setBitmapWord(index / 64, inUse ? word | mask : word & ~mask)
  }

  /// The lowest-numbered free object among the first `count`, or nil if all are in use.
  func firstFree(below count: Int) -> Int? {
    var base = 0
    while base < count {
      let valid: UInt64 = count - base >= 64 ? ~0 : (1 << UInt64(count - base)) - 1
      let free = ~bitmapWord(base / 64) & valid
      if free != 0 { return base + free.trailingZeroBitCount }
      base += 64
    }
    return nil
  }

  /// How many bits of the bitmap are set, and whether any is set past the first `count`.
  func bitmapCount(below count: Int) -> (inUse: Int, beyond: Bool) {
    var inUse = 0
    var beyond = false
    for word in 0..<Slab.bitmapWords {
      let bits = bitmapWord(word)
      inUse += bits.nonzeroBitCount
      let base = word * 64
      let valid: UInt64 =
        count - base >= 64 ? ~0 : count <= base ? 0 : (1 << UInt64(count - base)) - 1
      beyond = beyond || bits & ~valid != 0
    }
    return (inUse, beyond)
  }

  private func bitmapWord(_ word: Int) -> UInt64 {
    page.load(fromByteOffset: Slab.bitmapOffset + word * 8, as: UInt64.self)
  }

  private func setBitmapWord(_ word: Int, _ bits: UInt64) {
    page.storeBytes(of: bits, toByteOffset: Slab.bitmapOffset + word * 8, as: UInt64.self)
  }

  private func slab(at offset: Int) -> Slab? {
    let address = word(at: offset)
    return address == 0 ? nil : Slab(address: address)
  }

  private func word(at offset: Int) -> UInt {
    page.load(fromByteOffset: offset, as: UInt.self)
  }

  private func setWord(_ word: UInt, at offset: Int) {
    page.storeBytes(of: word, toByteOffset: offset, as: UInt.self)
  }
}
