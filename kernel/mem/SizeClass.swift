/// The object sizes `SizeClassHeap` serves from slabs: powers of two from 16 to 2048 bytes.
///
/// Every object of a class is aligned to its size, which is what lets one class serve any
/// request whose size and alignment both fit in it. The objects of a slab start at the
/// first multiple of the class size past the slab header, and run to the end of the page.
struct SizeClass: Equatable {
  /// A table with an entry per class, kept inline so that the heap does not allocate.
  typealias Table<Element> = InlineArray<8, Element>

  /// How many classes there are; their indices are `0..<count`.
  static let count = Table<Int>.count
  static let smallest = 16
  static let largest = smallest << (count - 1)

  /// 0 for 16 bytes, 1 for 32, and so on.
  let index: Int

  /// The class at `index`, or nil if there is none (a slab header that has been
  /// overwritten can hold any number).
  init?(index: Int) {
    guard 0 <= index && index < Self.count else { return nil }
    self.index = index
  }

  /// The smallest class whose objects hold `size` bytes at `alignment`, or nil if the
  /// request is too big for every class, or `alignment` is not a power of two, or `size`
  /// is negative.
  init?(fitting size: Int, alignment: Int) {
    guard size >= 0, alignment > 0, alignment & (alignment - 1) == 0 else { return nil }
    let needed = max(size, alignment, Self.smallest)
    guard needed <= Self.largest else { return nil }
    // The exponent of the smallest power of two not below `needed`.
    let exponent = Int.bitWidth - (needed - 1).leadingZeroBitCount
    self.index = exponent - Self.smallest.trailingZeroBitCount
  }

  /// The bytes in each object, which is also their alignment.
  var objectSize: Int { Self.smallest << index }

  /// Where in a slab the first object starts.
  var firstObjectOffset: Int { max(Slab.headerSize, objectSize) }

  /// How many objects one slab holds: from 252 of 16 bytes down to one of 2048.
  var objectsPerSlab: Int { (Slab.size - firstObjectOffset) / objectSize }
}
