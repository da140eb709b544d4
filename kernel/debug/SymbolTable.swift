/// The kernel's own symbol table, so reports name functions without host tools.
///
/// The build links the kernel twice: scripts/mksyms.py reads the functions of the
/// first link (names demangled on the host), writes them as a table, and the second link
/// places it in the .ksyms section, after everything else so no address moves. Layout:
///
///   header   "KSYM", count: UInt32, stringsOffset: UInt32, reserved: UInt32
///   entries  count x { address: UInt64, size: UInt32, nameOffset: UInt32 }, by address
///   strings  NUL-terminated names
struct SymbolTable {
  static let magic: UInt32 = 0x4D59_534B  // "KSYM", little-endian
  static let headerSize = 16
  static let entrySize = 16

  private let base: UnsafeRawPointer
  private let count: Int
  private let stringsOffset: Int

  /// The table linked into this kernel, or nil if there is none (the first link).
  static var kernel: SymbolTable? {
    let start = LinkerAddress.symbolsStart.value
    let end = LinkerAddress.symbolsEnd.value
    guard let base = UnsafeRawPointer(bitPattern: UInt(start)) else { return nil }
    return SymbolTable(base: base, size: Int(end - start))
  }

  /// Reads a table from memory; nil if it is malformed.
  init?(base: UnsafeRawPointer, size: Int) {
    guard size >= SymbolTable.headerSize,
      base.loadUnaligned(as: UInt32.self) == SymbolTable.magic
    else { return nil }
    let count = Int(base.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
    let stringsOffset = Int(base.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
    guard SymbolTable.headerSize + count * SymbolTable.entrySize <= stringsOffset,
      stringsOffset <= size
    else { return nil }
    self.base = base
    self.count = count
    self.stringsOffset = stringsOffset
  }

  var symbolCount: Int { count }

  /// The symbol containing `address`: its name's address (a C string) and the offset.
  func lookup(_ address: UInt64) -> (name: UInt64, offset: UInt64)? {
    // The last entry whose start is at or below the address.
    var low = 0
    var high = count
    while low < high {
      let middle = (low + high) / 2
      if entryAddress(middle) <= address { low = middle + 1 } else { high = middle }
    }
    guard low > 0 else { return nil }
    let index = low - 1
    let start = entryAddress(index)
    let size = UInt64(base.loadUnaligned(fromByteOffset: entryOffset(index) + 8, as: UInt32.self))
    guard address - start < max(size, 1) else { return nil }
    let nameOffset = Int(
      base.loadUnaligned(fromByteOffset: entryOffset(index) + 12, as: UInt32.self))
    let name = UInt64(UInt(bitPattern: base)) + UInt64(stringsOffset + nameOffset)
    return (name, address - start)
  }

  /// The address of the first symbol called `name`, for tests.
  func address(of name: StaticString) -> UInt64? {
    for index in 0..<count {
      let nameOffset = Int(
        base.loadUnaligned(fromByteOffset: entryOffset(index) + 12, as: UInt32.self))
      if matches(name, at: stringsOffset + nameOffset) { return entryAddress(index) }
    }
    return nil
  }

  private func entryOffset(_ index: Int) -> Int {
    SymbolTable.headerSize + index * SymbolTable.entrySize
  }

  private func entryAddress(_ index: Int) -> UInt64 {
    base.loadUnaligned(fromByteOffset: entryOffset(index), as: UInt64.self)
  }

  private func matches(_ name: StaticString, at offset: Int) -> Bool {
    name.withUTF8Buffer { wanted in
      for (index, byte) in wanted.enumerated()
      where base.load(fromByteOffset: offset + index, as: UInt8.self) != byte {
        return false
      }
      return base.load(fromByteOffset: offset + wanted.count, as: UInt8.self) == 0
    }
  }
}
