// Dynamic relocations: the 64-bit words the loader patches once it knows the image base
// and the addresses of the kernel functions the image imports.
//
// lld writes them as RELA entries in two tables, .rela.dyn (DT_RELA) and .rela.plt
// (DT_JMPREL). A position-independent domain needs four types; each is checked when the
// image is validated (known type, symbol in the table, target inside a writable segment),
// so applying them can fail only on an import the kernel does not export.

/// Which relocation table an entry comes from.
public enum RelocationTable: Equatable, Sendable {
  /// .rela.dyn, which DT_RELA points at: data pointers and GOT entries.
  case dynamic
  /// .rela.plt, which DT_JMPREL points at: the PLT's GOT slots.
  case procedureLinkage

  /// The section's name, as messages print it.
  var name: String {
    switch self {
    case .dynamic: ".rela.dyn"
    case .procedureLinkage: ".rela.plt"
    }
  }
}

/// One Elf64_Rela, as the file has it.
struct Relocation {
  /// Size of Elf64_Rela.
  static let size: UInt64 = 24
  /// Every type patches a 64-bit word.
  static let targetSize: UInt64 = 8

  /// The relocation types the loader applies (x86-64 psABI numbers).
  enum Kind: UInt32 {
    /// S + A: a symbol's address plus the addend.
    case absolute64 = 1
    /// S: a symbol's address, for a GOT entry.
    case globalData = 6
    /// S: a function's address, for a PLT slot.
    case jumpSlot = 7
    /// B + A: the image base plus the addend.
    case relative = 8

    /// Whether the value depends on the symbol.
    var usesSymbol: Bool { self != .relative }
  }

  /// Where to write, as an offset from the image base (r_offset).
  let offset: UInt64
  /// The high half of r_info.
  let symbolIndex: UInt32
  /// The low half of r_info.
  let type: UInt32
  let addend: UInt64

  /// The entry at the start of `entry`, which is `size` bytes.
  init(_ entry: ByteView) {
    offset = entry.uint64(at: 0)
    let info = entry.uint64(at: 8)
    symbolIndex = UInt32(truncatingIfNeeded: info >> 32)
    type = UInt32(truncatingIfNeeded: info)
    addend = entry.uint64(at: 16)
  }
}

/// One relocation table, every entry checked.
struct RelocationEntries {
  let table: RelocationTable
  private let bytes: ByteView

  var count: Int { bytes.count / Int(Relocation.size) }

  /// The table of `size` bytes at `address` from the dynamic section, checked against the
  /// image's segments and symbols.
  init(
    _ table: RelocationTable, at address: UInt64, size: UInt64, in file: ByteView,
    plan: LoadPlan, symbols: SymbolTable
  ) throws(ELFError) {
    let tag = table == .dynamic ? DynamicTag.rela : DynamicTag.jumpRelocations
    guard let bytes = plan.fileBytes(at: address, count: size, in: file) else {
      throw .tableOutsideImage(tag: tag, address: address, size: size)
    }
    self.table = table
    self.bytes = bytes

    for index in 0..<count {
      let relocation = self[index]
      guard let kind = Relocation.Kind(rawValue: relocation.type) else {
        throw .unknownRelocationType(table, index: index, type: relocation.type)
      }
      let span = UInt64(plan.span)
      guard relocation.offset <= span, Relocation.targetSize <= span - relocation.offset else {
        throw .relocationTargetOutsideImage(
          table, index: index, offset: relocation.offset, span: plan.span)
      }
      guard plan.isWritable(at: relocation.offset, count: Relocation.targetSize) else {
        throw .relocationTargetNotWritable(table, index: index, offset: relocation.offset)
      }
      guard !kind.usesSymbol || Int(relocation.symbolIndex) < symbols.count else {
        throw .symbolIndexOutOfRange(
          table, index: index, symbol: relocation.symbolIndex, count: symbols.count)
      }
    }
  }

  /// The entry at `index`, which must be below `count`.
  subscript(index: Int) -> Relocation {
    guard index >= 0, index < count,
      let entry = bytes.view(at: UInt64(index) * Relocation.size, count: Relocation.size)
    else { preconditionFailure("relocation index outside the checked table") }
    return Relocation(entry)
  }
}
