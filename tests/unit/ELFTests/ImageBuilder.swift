/// A builder of small ELF64 shared objects laid out the way ld.lld lays out a domain, and
/// the helpers the tests share.
///
/// `ImageBuilder.realistic()` is a valid image with two PT_LOAD segments: r-x text at 0
/// holding the headers, tables and code, and rw- data at 0x2000 holding the dynamic
/// section, the GOT, the PLT's GOT slots, data words and .bss. A test changes one field of
/// it, or one byte of what it builds, to make each error.
import ELF
import Testing

/// Where the realistic image puts things. Text is file bytes [0, 0x1000) at [0, 0x1000);
/// data is file bytes [0x1000, 0x1200) at [0x2000, 0x2200), then .bss up to 0x2400.
enum Layout {
  static let programHeaders: UInt64 = 0x40
  static let symbolTable: UInt64 = 0x200
  static let hash: UInt64 = 0x400
  static let stringTable: UInt64 = 0x500
  static let rela: UInt64 = 0x600
  static let jumpRelocations: UInt64 = 0x800
  static let code: UInt64 = 0xc00
  static let textSize: UInt64 = 0x1000

  static let dataFileOffset: UInt64 = 0x1000
  static let dynamic: UInt64 = 0x2000
  static let got: UInt64 = 0x2100
  static let gotPLT: UInt64 = 0x2110
  static let dataWords: UInt64 = 0x2120
  static let dataFileSize: UInt64 = 0x200
  static let dataMemorySize: UInt64 = 0x400
  static let relroEnd: UInt64 = 0x2110

  static let fileSize = 0x1200
  static let span = 0x3000

  /// Where the data segment's byte at `address` is in the file.
  static func fileOffset(ofData address: UInt64) -> Int {
    Int(address - dynamic + dataFileOffset)
  }
}

/// Numbers from the ELF and x86-64 psABI specifications.
enum Spec {
  static let load: UInt32 = 1
  static let dynamic: UInt32 = 2
  static let phdr: UInt32 = 6
  static let relro: UInt32 = 0x6474_E552
  static let stack: UInt32 = 0x6474_E551

  static let readable: UInt32 = 4
  static let writable: UInt32 = 2
  static let executable: UInt32 = 1

  static let local: UInt8 = 0
  static let global: UInt8 = 1
  static let weak: UInt8 = 2
  static let undefined: UInt16 = 0
  static let absolute: UInt16 = 0xFFF1

  static let r64: UInt32 = 1
  static let globDat: UInt32 = 6
  static let jumpSlot: UInt32 = 7
  static let relative: UInt32 = 8

  static let dtNull: UInt64 = 0
  static let dtNeeded: UInt64 = 1
  static let dtPLTRelSize: UInt64 = 2
  static let dtPLTGOT: UInt64 = 3
  static let dtHash: UInt64 = 4
  static let dtStrTab: UInt64 = 5
  static let dtSymTab: UInt64 = 6
  static let dtRela: UInt64 = 7
  static let dtRelaSize: UInt64 = 8
  static let dtRelaEnt: UInt64 = 9
  static let dtStrSize: UInt64 = 10
  static let dtSymEnt: UInt64 = 11
  static let dtInit: UInt64 = 12
  static let dtRel: UInt64 = 17
  static let dtPLTRel: UInt64 = 20
  static let dtJmpRel: UInt64 = 23
  static let dtInitArray: UInt64 = 25
  static let dtRelr: UInt64 = 36
  static let dtRelaCount: UInt64 = 0x6FFF_FFF9
}

struct ProgramHeaderSpec {
  var type: UInt32
  var flags: UInt32
  var offset: UInt64
  var address: UInt64
  var fileSize: UInt64
  var memorySize: UInt64
  var alignment: UInt64
}

struct SymbolSpec {
  var name: String
  var binding: UInt8
  /// st_shndx: 0 for an import; any small number for a symbol the image defines.
  var section: UInt16
  var value: UInt64 = 0
  /// st_name, when a test wants it elsewhere than where the builder puts the name.
  var nameOffset: UInt32? = nil
}

struct RelocationSpec {
  var offset: UInt64
  var type: UInt32
  var symbol: UInt32 = 0
  var addend: Int64 = 0
}

struct DynamicEntry {
  var tag: UInt64
  var value: UInt64
}

extension [DynamicEntry] {
  /// Sets the first `tag` entry's value, or adds one before the first DT_NULL.
  mutating func set(_ tag: UInt64, _ value: UInt64) {
    if let index = firstIndex(where: { $0.tag == tag }) {
      self[index].value = value
    } else {
      insert(
        DynamicEntry(tag: tag, value: value),
        at: firstIndex(where: { $0.tag == Spec.dtNull }) ?? count)
    }
  }

  mutating func remove(_ tag: UInt64) { removeAll { $0.tag == tag } }
}

struct ImageBuilder {
  var identification: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0]
  var type: UInt16 = 3
  var machine: UInt16 = 62
  var version: UInt32 = 1
  var programHeaders: [ProgramHeaderSpec]
  /// After the null symbol, which the builder puts at index 0.
  var symbols: [SymbolSpec]
  var relocations: [RelocationSpec]
  var jumpRelocations: [RelocationSpec]
  /// nil: the entries `defaultDynamic()` gives. PT_DYNAMIC's sizes always follow the
  /// number of entries.
  var dynamic: [DynamicEntry]? = nil
  /// Hash table nchain, when a test wants it other than the number of symbols.
  var chainCount: UInt32? = nil

  /// The base the relocation tests run the realistic image at, and what the test resolver
  /// binds its import to.
  static let base: UInt64 = 0xFFFF_8000_4000_0000
  static let posixMemalign: UInt64 = 0xFFFF_8000_0010_2030

  /// A valid image with one import (posix_memalign), two exports, and one relocation of
  /// each type the loader applies, plus a GLOB_DAT bound to the image's own symbol.
  static func realistic() -> ImageBuilder {
    ImageBuilder(
      programHeaders: [
        ProgramHeaderSpec(
          type: Spec.load, flags: Spec.readable | Spec.executable, offset: 0, address: 0,
          fileSize: Layout.textSize, memorySize: Layout.textSize, alignment: 0x1000),
        ProgramHeaderSpec(
          type: Spec.load, flags: Spec.readable | Spec.writable, offset: Layout.dataFileOffset,
          address: Layout.dynamic, fileSize: Layout.dataFileSize,
          memorySize: Layout.dataMemorySize, alignment: 0x1000),
        ProgramHeaderSpec(
          type: Spec.dynamic, flags: Spec.readable | Spec.writable,
          offset: Layout.dataFileOffset, address: Layout.dynamic, fileSize: 0, memorySize: 0,
          alignment: 8),
        ProgramHeaderSpec(
          type: Spec.relro, flags: Spec.readable, offset: Layout.dataFileOffset,
          address: Layout.dynamic, fileSize: Layout.relroEnd - Layout.dynamic,
          memorySize: Layout.relroEnd - Layout.dynamic, alignment: 1),
      ],
      symbols: [
        SymbolSpec(name: "swiftlet_export_Demo", binding: Spec.global, section: 7, value: 0xc00),
        SymbolSpec(name: "posix_memalign", binding: Spec.global, section: Spec.undefined),
        SymbolSpec(name: "counter", binding: Spec.weak, section: 12, value: 0x2120),
        SymbolSpec(name: "local_helper", binding: Spec.local, section: 7, value: 0xc40),
      ],
      relocations: [
        RelocationSpec(offset: 0x2120, type: Spec.relative, addend: 0xc00),
        RelocationSpec(offset: 0x2128, type: Spec.relative, addend: 0x2200),
        RelocationSpec(offset: 0x2130, type: Spec.r64, symbol: 3, addend: 8),
        RelocationSpec(offset: 0x2138, type: Spec.r64, symbol: 2, addend: 0x10),
        RelocationSpec(offset: 0x2100, type: Spec.globDat, symbol: 2),
        RelocationSpec(offset: 0x2108, type: Spec.globDat, symbol: 3),
      ],
      jumpRelocations: [RelocationSpec(offset: 0x2110, type: Spec.jumpSlot, symbol: 2)])
  }

  /// The dynamic section lld writes for these tables.
  func defaultDynamic() -> [DynamicEntry] {
    var entries: [DynamicEntry] = []
    if !relocations.isEmpty {
      entries += [
        DynamicEntry(tag: Spec.dtRela, value: Layout.rela),
        DynamicEntry(tag: Spec.dtRelaSize, value: UInt64(relocations.count * 24)),
        DynamicEntry(tag: Spec.dtRelaEnt, value: 24),
        DynamicEntry(
          tag: Spec.dtRelaCount,
          value: UInt64(relocations.filter { $0.type == Spec.relative }.count)),
      ]
    }
    if !jumpRelocations.isEmpty {
      entries += [
        DynamicEntry(tag: Spec.dtJmpRel, value: Layout.jumpRelocations),
        DynamicEntry(tag: Spec.dtPLTRelSize, value: UInt64(jumpRelocations.count * 24)),
        DynamicEntry(tag: Spec.dtPLTGOT, value: Layout.gotPLT),
        DynamicEntry(tag: Spec.dtPLTRel, value: Spec.dtRela),
      ]
    }
    entries += [
      DynamicEntry(tag: Spec.dtSymTab, value: Layout.symbolTable),
      DynamicEntry(tag: Spec.dtSymEnt, value: 24),
      DynamicEntry(tag: Spec.dtStrTab, value: Layout.stringTable),
      DynamicEntry(tag: Spec.dtStrSize, value: UInt64(stringTable.count)),
      DynamicEntry(tag: Spec.dtHash, value: Layout.hash),
      DynamicEntry(tag: Spec.dtNull, value: 0),
    ]
    return entries
  }

  /// A NUL, then each symbol's name and a NUL.
  var stringTable: [UInt8] {
    var table: [UInt8] = [0]
    for symbol in symbols { table += Array(symbol.name.utf8) + [0] }
    return table
  }

  /// Where each symbol's name starts in `stringTable`.
  var nameOffsets: [UInt32] {
    var offsets: [UInt32] = []
    var next: UInt32 = 1
    for symbol in symbols {
      offsets.append(next)
      next += UInt32(symbol.name.utf8.count + 1)
    }
    return offsets
  }

  /// The initial contents of the data words and GOT slots: not zero, so tests can see
  /// which bytes `load` copied and which `relocate` overwrote.
  static func dataByte(at address: UInt64) -> UInt8 {
    UInt8(truncatingIfNeeded: address &* 7 &+ 0x35)
  }

  func build() -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: Layout.fileSize)
    let dynamic = self.dynamic ?? defaultDynamic()

    // Code (int3 filler), then data with a pattern; the tables below overwrite both.
    for offset in Int(Layout.code)..<Int(Layout.textSize) { bytes[offset] = 0xCC }
    for address in Layout.dynamic..<Layout.dynamic + Layout.dataFileSize {
      bytes[Layout.fileOffset(ofData: address)] = Self.dataByte(at: address)
    }

    // ELF header.
    bytes.replaceSubrange(0..<identification.count, with: identification)
    patch16(&bytes, at: 16, type)
    patch16(&bytes, at: 18, machine)
    patch32(&bytes, at: 20, version)
    patch64(&bytes, at: 32, Layout.programHeaders)
    patch16(&bytes, at: 52, 64)
    patch16(&bytes, at: 54, 56)
    patch16(&bytes, at: 56, UInt16(programHeaders.count))

    for (index, header) in programHeaders.enumerated() {
      let at = Int(Layout.programHeaders) + index * 56
      var header = header
      if header.type == Spec.dynamic {
        header.fileSize = UInt64(dynamic.count * 16)
        header.memorySize = header.fileSize
      }
      patch32(&bytes, at: at, header.type)
      patch32(&bytes, at: at + 4, header.flags)
      patch64(&bytes, at: at + 8, header.offset)
      patch64(&bytes, at: at + 16, header.address)
      patch64(&bytes, at: at + 24, header.address)
      patch64(&bytes, at: at + 32, header.fileSize)
      patch64(&bytes, at: at + 40, header.memorySize)
      patch64(&bytes, at: at + 48, header.alignment)
    }

    // .dynsym: the null symbol, then the others.
    let offsets = nameOffsets
    for (index, symbol) in symbols.enumerated() {
      let at = Int(Layout.symbolTable) + (index + 1) * 24
      patch32(&bytes, at: at, symbol.nameOffset ?? offsets[index])
      bytes[at + 4] = symbol.binding << 4 | (symbol.section == Spec.undefined ? 0 : 2)
      bytes[at + 5] = 0
      patch16(&bytes, at: at + 6, symbol.section)
      patch64(&bytes, at: at + 8, symbol.value)
      patch64(&bytes, at: at + 16, 8)
    }

    // .hash: one bucket holding the last symbol, each chain pointing at the one before.
    let count = UInt32(symbols.count + 1)
    patch32(&bytes, at: Int(Layout.hash), 1)
    patch32(&bytes, at: Int(Layout.hash) + 4, chainCount ?? count)
    patch32(&bytes, at: Int(Layout.hash) + 8, count - 1)
    for index in 0..<count {
      patch32(&bytes, at: Int(Layout.hash) + 12 + Int(index) * 4, index == 0 ? 0 : index - 1)
    }

    bytes.replaceSubrange(
      Int(Layout.stringTable)..<Int(Layout.stringTable) + stringTable.count, with: stringTable)
    write(relocations, at: Int(Layout.rela), into: &bytes)
    write(jumpRelocations, at: Int(Layout.jumpRelocations), into: &bytes)

    let dynamicOffset = Layout.fileOffset(ofData: Layout.dynamic)
    for (index, entry) in dynamic.enumerated() {
      patch64(&bytes, at: dynamicOffset + index * 16, entry.tag)
      patch64(&bytes, at: dynamicOffset + index * 16 + 8, entry.value)
    }
    return bytes
  }

  private func write(_ relocations: [RelocationSpec], at start: Int, into bytes: inout [UInt8]) {
    for (index, relocation) in relocations.enumerated() {
      let at = start + index * 24
      patch64(&bytes, at: at, relocation.offset)
      patch64(&bytes, at: at + 8, UInt64(relocation.symbol) << 32 | UInt64(relocation.type))
      patch64(&bytes, at: at + 16, UInt64(bitPattern: relocation.addend))
    }
  }
}

/// Overwrites the little-endian field of `size` bytes at `offset`.
func patch(_ bytes: inout [UInt8], at offset: Int, size: Int, _ value: UInt64) {
  for index in 0..<size { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
}

func patch16(_ bytes: inout [UInt8], at offset: Int, _ value: UInt16) {
  patch(&bytes, at: offset, size: 2, UInt64(value))
}

func patch32(_ bytes: inout [UInt8], at offset: Int, _ value: UInt32) {
  patch(&bytes, at: offset, size: 4, UInt64(value))
}

func patch64(_ bytes: inout [UInt8], at offset: Int, _ value: UInt64) {
  patch(&bytes, at: offset, size: 8, value)
}

/// The little-endian 64-bit value at `offset`.
func read64(_ bytes: UnsafeMutableRawBufferPointer, at offset: UInt64) -> UInt64 {
  UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: Int(offset), as: UInt64.self))
}

/// A kernel system interface of a few names.
struct TestResolver: SymbolResolver {
  var known: [String: UInt64] = ["posix_memalign": ImageBuilder.posixMemalign]

  func address(of name: String) -> UInt64? { known[name] }
}

/// Validates `bytes` and calls `body` with the image, which is valid only inside it.
func withImage<Result>(_ bytes: [UInt8], _ body: (ELFImage) throws -> Result) throws -> Result {
  try bytes.withUnsafeBytes { raw in try body(try ELFImage(bytes: raw)) }
}

/// Calls `body` with `count` bytes of memory filled with `fill`, freed afterwards.
func withMemory<Result>(
  _ count: Int, fill: UInt8 = 0xEE, _ body: (UnsafeMutableRawBufferPointer) throws -> Result
) rethrows -> Result {
  let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 4096)
  defer { memory.deallocate() }
  memory.initializeMemory(as: UInt8.self, repeating: fill)
  return try body(memory)
}

/// The error validating `bytes` throws, or nil if they are a valid image.
func validationError(_ bytes: [UInt8]) -> ELFError? {
  bytes.withUnsafeBytes { raw -> ELFError? in
    do throws(ELFError) {
      _ = try ELFImage(bytes: raw)
      return nil
    } catch {
      return error
    }
  }
}

/// The error `relocate` throws, or nil if it succeeds.
func relocationError(
  _ image: ELFImage, _ memory: UnsafeMutableRawBufferPointer, resolver: TestResolver
) -> ELFError? {
  do {
    _ = try image.relocate(memory, base: ImageBuilder.base, resolver: resolver)
    return nil
  } catch {
    return error
  }
}

/// Expects validating `bytes` to throw `expected`, whose message is `message`.
func expectError(
  _ bytes: [UInt8], _ expected: ELFError, _ message: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let error = validationError(bytes)
  #expect(error == expected, sourceLocation: sourceLocation)
  #expect(error?.message == message, sourceLocation: sourceLocation)
}

/// Expects the image `builder` makes to fail validation with `expected` and `message`.
func expectError(
  _ builder: ImageBuilder, _ expected: ELFError, _ message: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  expectError(builder.build(), expected, message, sourceLocation: sourceLocation)
}
