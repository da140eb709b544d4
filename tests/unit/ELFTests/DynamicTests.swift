/// The dynamic section and the tables it points at: missing, malformed, refused, or
/// outside the loaded bytes.
import ELF
import Testing

/// The realistic image with its dynamic section changed by `change`.
func changingDynamic(_ change: (inout [DynamicEntry]) -> Void) -> ImageBuilder {
  var builder = ImageBuilder.realistic()
  var entries = builder.defaultDynamic()
  change(&entries)
  builder.dynamic = entries
  return builder
}

@Suite struct DynamicTests {
  @Test func unterminated() {
    expectError(
      changingDynamic { $0.remove(Spec.dtNull) }, .unterminatedDynamicSection(entries: 13),
      "dynamic section (13 entries) has no DT_NULL")
  }

  @Test func entriesAfterNullAreIgnored() throws {
    let builder = changingDynamic { $0.append(DynamicEntry(tag: Spec.dtNeeded, value: 1)) }
    try withImage(builder.build()) { image in #expect(image.relocationCount == 7) }
  }

  @Test func refusedTags() {
    expectError(
      changingDynamic { $0.set(Spec.dtNeeded, 0x10) }, .unsupportedDynamicTag(1),
      "dynamic tag DT_NEEDED (1) is not supported: the image needs another shared object; a "
        + "domain links only against the kernel")
    expectError(
      changingDynamic { $0.set(Spec.dtInit, 0xc00) }, .unsupportedDynamicTag(12),
      "dynamic tag DT_INIT (12) is not supported: the loader runs no initializers")
    expectError(
      changingDynamic { $0.set(Spec.dtInitArray, 0x2180) }, .unsupportedDynamicTag(25),
      "dynamic tag DT_INIT_ARRAY (25) is not supported: the loader runs no initializers")
    expectError(
      changingDynamic { $0.set(Spec.dtRel, 0x600) }, .unsupportedDynamicTag(17),
      "dynamic tag DT_REL (17) is not supported: the loader applies only RELA relocations")
    expectError(
      changingDynamic { $0.set(Spec.dtRelr, 0x600) }, .unsupportedDynamicTag(36),
      "dynamic tag DT_RELR (36) is not supported: the loader applies only RELA relocations")
  }

  @Test func missingTags() {
    expectError(
      changingDynamic { $0.remove(Spec.dtHash) }, .missingDynamicTag(4),
      "no DT_HASH in the dynamic section (link with --hash-style=sysv)")
    expectError(
      changingDynamic { $0.remove(Spec.dtSymTab) }, .missingDynamicTag(6),
      "no DT_SYMTAB in the dynamic section")
    expectError(
      changingDynamic { $0.remove(Spec.dtStrTab) }, .missingDynamicTag(5),
      "no DT_STRTAB in the dynamic section")
    expectError(
      changingDynamic { $0.remove(Spec.dtStrSize) }, .missingDynamicTag(10),
      "no DT_STRSZ in the dynamic section")
    expectError(
      changingDynamic { $0.remove(Spec.dtSymEnt) }, .missingDynamicTag(11),
      "no DT_SYMENT in the dynamic section")
    expectError(
      changingDynamic { $0.remove(Spec.dtRelaSize) }, .missingDynamicTag(8),
      "no DT_RELASZ in the dynamic section")
    expectError(
      changingDynamic { $0.remove(Spec.dtRelaEnt) }, .missingDynamicTag(9),
      "no DT_RELAENT in the dynamic section")
    expectError(
      changingDynamic { $0.remove(Spec.dtPLTRelSize) }, .missingDynamicTag(2),
      "no DT_PLTRELSZ in the dynamic section")
    expectError(
      changingDynamic { $0.remove(Spec.dtPLTRel) }, .missingDynamicTag(20),
      "no DT_PLTREL in the dynamic section")
  }

  @Test func wrongEntrySizes() {
    expectError(
      changingDynamic { $0.set(Spec.dtSymEnt, 16) }, .badEntrySize(tag: 11, size: 16, expected: 24),
      "DT_SYMENT is 0x10 (expected 0x18)")
    expectError(
      changingDynamic { $0.set(Spec.dtRelaEnt, 16) },
      .badEntrySize(tag: 9, size: 16, expected: 24), "DT_RELAENT is 0x10 (expected 0x18)")
  }

  @Test func pltRelocationsMustBeRela() {
    expectError(
      changingDynamic { $0.set(Spec.dtPLTRel, Spec.dtRel) }, .badPLTRelocationFormat(17),
      "DT_PLTREL is DT_REL (17); expected DT_RELA (7)")
  }

  @Test func tableSizesMustBeWholeEntries() {
    expectError(
      changingDynamic { $0.set(Spec.dtRelaSize, 0x20) },
      .badTableSize(tag: 8, size: 0x20, entrySize: 0x18),
      "DT_RELASZ 0x20 is not a multiple of the 0x18-byte entry")
    expectError(
      changingDynamic { $0.set(Spec.dtPLTRelSize, 0x19) },
      .badTableSize(tag: 2, size: 0x19, entrySize: 0x18),
      "DT_PLTRELSZ 0x19 is not a multiple of the 0x18-byte entry")
  }

  @Test func tablesOutsideTheLoadedBytes() {
    expectError(
      changingDynamic { $0.set(Spec.dtSymTab, 0x1f00) },
      .tableOutsideImage(tag: 6, address: 0x1f00, size: 0x78),
      "the table DT_SYMTAB points at, 0x1f00 (0x78 bytes), is not inside the file bytes of "
        + "one PT_LOAD segment")
    expectError(
      changingDynamic { $0.set(Spec.dtHash, 0x2300) },  // in .bss: no file bytes
      .tableOutsideImage(tag: 4, address: 0x2300, size: 8),
      "the table DT_HASH points at, 0x2300 (0x8 bytes), is not inside the file bytes of one "
        + "PT_LOAD segment")
    expectError(
      changingDynamic { $0.set(Spec.dtStrSize, 0x10_0000) },
      .tableOutsideImage(tag: 5, address: 0x500, size: 0x10_0000),
      "the table DT_STRTAB points at, 0x500 (0x100000 bytes), is not inside the file bytes "
        + "of one PT_LOAD segment")
    expectError(
      changingDynamic { $0.set(Spec.dtRela, 0xff8) },  // runs from text into the gap
      .tableOutsideImage(tag: 7, address: 0xff8, size: 0x90),
      "the table DT_RELA points at, 0xff8 (0x90 bytes), is not inside the file bytes of one "
        + "PT_LOAD segment")
    expectError(
      changingDynamic { $0.set(Spec.dtJmpRel, .max) },
      .tableOutsideImage(tag: 23, address: .max, size: 0x18),
      "the table DT_JMPREL points at, 0xffffffffffffffff (0x18 bytes), is not inside the "
        + "file bytes of one PT_LOAD segment")
  }

  @Test func hashTableSizesTheSymbolTable() {
    var hugeHash = ImageBuilder.realistic()
    hugeHash.chainCount = 0xFFFF_FFFF
    expectError(
      hugeHash, .tableOutsideImage(tag: 4, address: 0x400, size: 0x4_0000_0008),
      "the table DT_HASH points at, 0x400 (0x400000008 bytes), is not inside the file bytes "
        + "of one PT_LOAD segment")
    var manySymbols = ImageBuilder.realistic()
    manySymbols.chainCount = 0x100
    expectError(
      manySymbols, .tableOutsideImage(tag: 6, address: 0x200, size: 0x1800),
      "the table DT_SYMTAB points at, 0x200 (0x1800 bytes), is not inside the file bytes of "
        + "one PT_LOAD segment")
  }

  @Test func stringTableMustEndWithNul() {
    let size = UInt64(ImageBuilder.realistic().stringTable.count)
    expectError(
      changingDynamic { $0.set(Spec.dtStrSize, size - 1) },
      .unterminatedStringTable(size: size - 1),
      "dynamic string table (\(hex(size - 1)) bytes) does not end with a NUL")
    expectError(
      changingDynamic { $0.set(Spec.dtStrSize, 0) }, .unterminatedStringTable(size: 0),
      "dynamic string table (0x0 bytes) does not end with a NUL")
  }

  @Test func symbolNameOutsideTheStringTable() {
    var builder = ImageBuilder.realistic()
    let size = UInt64(builder.stringTable.count)
    builder.symbols[2].nameOffset = UInt32(size)
    expectError(
      builder, .symbolNameOutsideStringTable(symbol: 3, nameOffset: UInt32(size), tableSize: size),
      "dynamic symbol 3: name offset \(hex(size)) is outside the \(hex(size))-byte string table")
  }

  @Test func definedSymbolOutsideTheImage() throws {
    var atEnd = ImageBuilder.realistic()
    atEnd.symbols[0].value = 0x3000  // an end marker may sit at the span's end
    try withImage(atEnd.build()) { image in
      #expect(image.symbolOffset("swiftlet_export_Demo") == 0x3000)
    }
    var past = ImageBuilder.realistic()
    past.symbols[0].value = 0x3001
    expectError(
      past,
      .symbolOutsideImage(symbol: 1, name: "swiftlet_export_Demo", value: 0x3001, span: 0x3000),
      "dynamic symbol 1 'swiftlet_export_Demo' has value 0x3001, past the 0x3000-byte image")
  }
}

/// `value` as the loader's messages print it.
func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
