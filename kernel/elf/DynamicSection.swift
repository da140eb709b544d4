// The dynamic section: where the symbol table, string table, hash table and relocation
// tables are, and how big.
//
// Its tags give virtual addresses, which the loader turns into file offsets through the
// PT_LOAD segments, so every table is read from the file bytes that load to it. Tags the
// loader has no use for are skipped; tags that would make it load an image wrongly if
// skipped (another library needed, initializers to run, relocations in a format it does
// not apply) are errors.

/// Dynamic tag numbers (d_tag) and their names.
enum DynamicTag {
  static let null: UInt64 = 0
  static let needed: UInt64 = 1
  static let pltRelocationSize: UInt64 = 2
  static let hash: UInt64 = 4
  static let stringTable: UInt64 = 5
  static let symbolTable: UInt64 = 6
  static let rela: UInt64 = 7
  static let relaSize: UInt64 = 8
  static let relaEntrySize: UInt64 = 9
  static let stringTableSize: UInt64 = 10
  static let symbolEntrySize: UInt64 = 11
  static let initFunction: UInt64 = 12
  static let rel: UInt64 = 17
  static let pltRelocationFormat: UInt64 = 20
  static let jumpRelocations: UInt64 = 23
  static let initArray: UInt64 = 25
  static let preinitArray: UInt64 = 32
  static let relr: UInt64 = 36
  static let androidRel: UInt64 = 0x6000_000F
  static let androidRela: UInt64 = 0x6000_0011

  /// The tag's name as readelf prints it, for messages.
  static func name(_ tag: UInt64) -> String {
    switch tag {
    case null: "DT_NULL"
    case needed: "DT_NEEDED"
    case pltRelocationSize: "DT_PLTRELSZ"
    case hash: "DT_HASH"
    case stringTable: "DT_STRTAB"
    case symbolTable: "DT_SYMTAB"
    case rela: "DT_RELA"
    case relaSize: "DT_RELASZ"
    case relaEntrySize: "DT_RELAENT"
    case stringTableSize: "DT_STRSZ"
    case symbolEntrySize: "DT_SYMENT"
    case initFunction: "DT_INIT"
    case rel: "DT_REL"
    case pltRelocationFormat: "DT_PLTREL"
    case jumpRelocations: "DT_JMPREL"
    case initArray: "DT_INIT_ARRAY"
    case preinitArray: "DT_PREINIT_ARRAY"
    case relr: "DT_RELR"
    case androidRel: "DT_ANDROID_REL"
    case androidRela: "DT_ANDROID_RELA"
    default: "tag \(hex(tag))"
    }
  }

  /// Why the loader refuses an image with this tag, or nil if it accepts it.
  static func refusal(_ tag: UInt64) -> String? {
    switch tag {
    case needed:
      "the image needs another shared object; a domain links only against the kernel"
    case initFunction, initArray, preinitArray:
      "the loader runs no initializers"
    case rel, relr, androidRel, androidRela:
      "the loader applies only RELA relocations"
    default:
      nil
    }
  }
}

/// The dynamic section's entries that the loader uses, each checked to be there when
/// needed and to have the right entry size.
struct DynamicInfo {
  /// Size of Elf64_Dyn.
  static let entrySize: UInt64 = 16

  var hash: UInt64 = 0
  var symbolTable: UInt64 = 0
  var stringTable: UInt64 = 0
  var stringTableSize: UInt64 = 0
  /// DT_RELA and DT_RELASZ, if the image has the table.
  var rela: (address: UInt64, size: UInt64)?
  /// DT_JMPREL and DT_PLTRELSZ, if the image has the table.
  var jumpRelocations: (address: UInt64, size: UInt64)?

  /// Reads the dynamic section PT_DYNAMIC points at.
  init(_ file: ByteView, plan: LoadPlan) throws(ELFError) {
    let header = plan.dynamic
    guard file.view(at: header.offset, count: header.fileSize) != nil else {
      throw .dynamicOutsideFile(
        offset: header.offset, size: header.fileSize, fileSize: file.count)
    }
    guard let section = plan.fileBytes(at: header.address, count: header.fileSize, in: file)
    else { throw .dynamicOutsideSegments(address: header.address, size: header.fileSize) }

    var values = TagValues()
    var terminated = false
    let count = section.count / Int(Self.entrySize)
    for index in 0..<count {
      let tag = section.uint64(at: index * Int(Self.entrySize))
      let value = section.uint64(at: index * Int(Self.entrySize) + 8)
      if tag == DynamicTag.null {
        terminated = true
        break
      }
      if DynamicTag.refusal(tag) != nil { throw .unsupportedDynamicTag(tag) }
      values.record(tag, value)
    }
    guard terminated else { throw .unterminatedDynamicSection(entries: count) }

    hash = try values.required(DynamicTag.hash)
    symbolTable = try values.required(DynamicTag.symbolTable)
    stringTable = try values.required(DynamicTag.stringTable)
    stringTableSize = try values.required(DynamicTag.stringTableSize)
    try values.requireEntrySize(DynamicTag.symbolEntrySize, Symbol.size)

    if let address = values.rela {
      try values.requireEntrySize(DynamicTag.relaEntrySize, Relocation.size)
      rela = (address, try values.tableSize(DynamicTag.relaSize))
    }
    if let address = values.jumpRelocations {
      let format = try values.required(DynamicTag.pltRelocationFormat)
      guard format == DynamicTag.rela else { throw .badPLTRelocationFormat(format) }
      jumpRelocations = (address, try values.tableSize(DynamicTag.pltRelocationSize))
    }
  }

  /// The values of the tags the loader reads; the first of repeated tags wins.
  private struct TagValues {
    private static let used = [
      DynamicTag.hash, DynamicTag.symbolTable, DynamicTag.symbolEntrySize,
      DynamicTag.stringTable, DynamicTag.stringTableSize, DynamicTag.rela,
      DynamicTag.relaSize, DynamicTag.relaEntrySize, DynamicTag.jumpRelocations,
      DynamicTag.pltRelocationSize, DynamicTag.pltRelocationFormat,
    ]
    /// At most one entry per tag in `used`.
    private var entries: [(tag: UInt64, value: UInt64)] = []

    var rela: UInt64? { value(DynamicTag.rela) }
    var jumpRelocations: UInt64? { value(DynamicTag.jumpRelocations) }

    mutating func record(_ tag: UInt64, _ value: UInt64) {
      guard Self.used.contains(tag), self.value(tag) == nil else { return }
      entries.append((tag, value))
    }

    func value(_ tag: UInt64) -> UInt64? {
      for entry in entries where entry.tag == tag { return entry.value }
      return nil
    }

    func required(_ tag: UInt64) throws(ELFError) -> UInt64 {
      guard let value = value(tag) else { throw .missingDynamicTag(tag) }
      return value
    }

    /// Throws unless `tag` is present and says `expected` bytes.
    func requireEntrySize(_ tag: UInt64, _ expected: UInt64) throws(ELFError) {
      let size = try required(tag)
      guard size == expected else { throw .badEntrySize(tag: tag, size: size, expected: expected) }
    }

    /// A relocation table's size from `tag`, a whole number of entries.
    func tableSize(_ tag: UInt64) throws(ELFError) -> UInt64 {
      let size = try required(tag)
      guard size % Relocation.size == 0 else {
        throw .badTableSize(tag: tag, size: size, entrySize: Relocation.size)
      }
      return size
    }
  }
}
