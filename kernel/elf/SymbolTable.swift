// The dynamic symbol table: what an image exports, and what it imports from the kernel.
//
// The dynamic section does not say how many symbols there are; the SysV hash table does
// (its nchain), which is why domains are linked with --hash-style=sysv. The table is
// checked whole when the image is validated: every name lies in the string table, whose
// last byte is a NUL so every name ends inside it, and every defined symbol lies inside
// the image. Lookups by name are linear, which is plenty for the few a load makes.

/// One Elf64_Sym, as the file has it.
struct Symbol {
  /// Size of Elf64_Sym.
  static let size: UInt64 = 24
  /// st_shndx of a symbol the image imports.
  static let undefinedSection: UInt16 = 0
  /// st_shndx of a symbol whose value is an absolute address, not an offset.
  static let absoluteSection: UInt16 = 0xFFF1
  static let globalBinding: UInt8 = 1
  static let weakBinding: UInt8 = 2

  /// Where the name starts in the string table.
  let nameOffset: UInt32
  /// STB_LOCAL, STB_GLOBAL, STB_WEAK, ...: the high nibble of st_info.
  let binding: UInt8
  let section: UInt16
  let value: UInt64

  var isUndefined: Bool { section == Self.undefinedSection }
  var isAbsolute: Bool { section == Self.absoluteSection }
  var isWeak: Bool { binding == Self.weakBinding }
  /// Defined in one of the image's sections, so its value is an offset from the base.
  var isDefinedInImage: Bool { !isUndefined && !isAbsolute }
  /// Visible to the kernel by name.
  var isExported: Bool {
    isDefinedInImage && (binding == Self.globalBinding || binding == Self.weakBinding)
  }
}

/// The dynamic symbol table and its string table, checked.
struct SymbolTable {
  private let table: ByteView
  private let strings: ByteView
  /// The number of symbols, the null symbol at index 0 included.
  let count: Int

  init(_ file: ByteView, plan: LoadPlan, dynamic: DynamicInfo) throws(ELFError) {
    // nbucket and nchain, then that many 32-bit words each.
    guard let hashHeader = plan.fileBytes(at: dynamic.hash, count: 8, in: file) else {
      throw .tableOutsideImage(tag: DynamicTag.hash, address: dynamic.hash, size: 8)
    }
    let buckets = UInt64(hashHeader.uint32(at: 0))
    let chains = UInt64(hashHeader.uint32(at: 4))
    let hashSize = 8 + 4 * (buckets + chains)
    guard plan.fileBytes(at: dynamic.hash, count: hashSize, in: file) != nil else {
      throw .tableOutsideImage(tag: DynamicTag.hash, address: dynamic.hash, size: hashSize)
    }

    guard
      let strings = plan.fileBytes(
        at: dynamic.stringTable, count: dynamic.stringTableSize, in: file)
    else {
      throw .tableOutsideImage(
        tag: DynamicTag.stringTable, address: dynamic.stringTable,
        size: dynamic.stringTableSize)
    }
    guard strings.count > 0, strings.uint8(at: strings.count - 1) == 0 else {
      throw .unterminatedStringTable(size: dynamic.stringTableSize)
    }

    let tableSize = chains * Self.entrySize
    guard let table = plan.fileBytes(at: dynamic.symbolTable, count: tableSize, in: file) else {
      throw .tableOutsideImage(
        tag: DynamicTag.symbolTable, address: dynamic.symbolTable, size: tableSize)
    }
    self.table = table
    self.strings = strings
    count = Int(chains)

    for index in 0..<count {
      let symbol = self[index]
      guard Int(symbol.nameOffset) < strings.count else {
        throw .symbolNameOutsideStringTable(
          symbol: index, nameOffset: symbol.nameOffset, tableSize: dynamic.stringTableSize)
      }
      guard !symbol.isDefinedInImage || symbol.value <= UInt64(plan.span) else {
        throw .symbolOutsideImage(
          symbol: index, name: name(of: symbol), value: symbol.value, span: plan.span)
      }
    }
  }

  private static let entrySize = Symbol.size

  /// The symbol at `index`, which must be below `count`.
  subscript(index: Int) -> Symbol {
    guard index >= 0, index < count,
      let entry = table.view(at: UInt64(index) * Self.entrySize, count: Self.entrySize)
    else { preconditionFailure("symbol index outside the checked table") }
    return Symbol(
      nameOffset: entry.uint32(at: 0), binding: entry.uint8(at: 4) >> 4,
      section: entry.uint16(at: 6), value: entry.uint64(at: 8))
  }

  /// The symbol's name: its bytes up to the NUL.
  func name(of symbol: Symbol) -> String {
    let start = Int(symbol.nameOffset)
    var end = start
    while end < strings.count && strings.uint8(at: end) != 0 { end += 1 }
    return String(decoding: strings.buffer[start..<end], as: UTF8.self)
  }

  /// Whether the symbol's name is `name`, compared byte by byte: no String is made, and
  /// no Unicode normalization is needed.
  func symbol(_ symbol: Symbol, isNamed name: String) -> Bool {
    var position = Int(symbol.nameOffset)
    for byte in name.utf8 {
      guard byte != 0, position < strings.count, strings.uint8(at: position) == byte else {
        return false
      }
      position += 1
    }
    return position < strings.count && strings.uint8(at: position) == 0
  }
}
