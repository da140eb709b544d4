// Why an image could not be validated, loaded or relocated, with the numbers that say
// exactly where.
//
// Program headers are counted from 0 in table order. Addresses are offsets from the image
// base, as the file gives them; file offsets and sizes are in bytes. Relocations are
// counted from 0 within their table.

/// Why `ELFImage` refused an image, or `load` or `relocate` failed.
public enum ELFError: Error, Equatable {
  /// The image is shorter than the 64-byte ELF header.
  case tooShort(size: Int)
  /// The first four bytes, read little-endian, are not "\x7fELF".
  case badMagic(UInt32)
  /// EI_CLASS is not ELFCLASS64.
  case notClass64(UInt8)
  /// EI_DATA is not ELFDATA2LSB.
  case notLittleEndian(UInt8)
  /// EI_VERSION or e_version is not EV_CURRENT.
  case badVersion(identification: UInt8, header: UInt32)
  /// e_type is not ET_DYN.
  case notSharedObject(UInt16)
  /// e_machine is not EM_X86_64.
  case wrongMachine(UInt16)
  /// e_phentsize is not the size of Elf64_Phdr.
  case badProgramHeaderEntrySize(UInt16)
  /// The program header table runs past the end of the file.
  case programHeadersOutsideFile(offset: UInt64, count: UInt16, fileSize: Int)
  /// A PT_LOAD has more file bytes than memory bytes.
  case fileSizeExceedsMemorySize(header: Int, fileSize: UInt64, memorySize: UInt64)
  /// A PT_LOAD's file bytes run past the end of the file.
  case segmentOutsideFile(header: Int, offset: UInt64, size: UInt64, fileSize: Int)
  /// A PT_LOAD's alignment is not a power of two, or is larger than a page.
  case badSegmentAlignment(header: Int, alignment: UInt64)
  /// A PT_LOAD's file offset and address differ modulo its alignment.
  case misalignedSegment(header: Int, offset: UInt64, address: UInt64, alignment: UInt64)
  /// A PT_LOAD is both writable and executable.
  case writableAndExecutable(header: Int, address: UInt64)
  /// A PT_LOAD reaches past `ELFImage.maximumSpan`.
  case segmentBeyondLimit(header: Int, address: UInt64, size: UInt64)
  /// Two PT_LOAD segments overlap in memory.
  case overlappingSegments(Range<UInt64>, Range<UInt64>)
  /// Two PT_LOAD segments share the page at `page`.
  case segmentsSharePage(Range<UInt64>, Range<UInt64>, page: UInt64)
  /// No PT_LOAD segment has bytes in memory.
  case noLoadableSegments
  /// PT_GNU_RELRO is not inside one writable PT_LOAD segment.
  case relroOutsideSegment(address: UInt64, size: UInt64)
  /// There is no PT_DYNAMIC program header.
  case noDynamicSegment
  /// PT_DYNAMIC's file bytes run past the end of the file.
  case dynamicOutsideFile(offset: UInt64, size: UInt64, fileSize: Int)
  /// PT_DYNAMIC's address range is not inside the file bytes of one PT_LOAD segment.
  case dynamicOutsideSegments(address: UInt64, size: UInt64)
  /// The dynamic section has no DT_NULL entry.
  case unterminatedDynamicSection(entries: Int)
  /// The dynamic section has a tag the loader refuses (see the message for why).
  case unsupportedDynamicTag(UInt64)
  /// The dynamic section lacks a tag the loader needs.
  case missingDynamicTag(UInt64)
  /// DT_SYMENT or DT_RELAENT gives the wrong entry size.
  case badEntrySize(tag: UInt64, size: UInt64, expected: UInt64)
  /// DT_PLTREL is not DT_RELA.
  case badPLTRelocationFormat(UInt64)
  /// DT_RELASZ or DT_PLTRELSZ is not a whole number of entries.
  case badTableSize(tag: UInt64, size: UInt64, entrySize: UInt64)
  /// The table a dynamic tag points at is not inside the file bytes of one PT_LOAD
  /// segment.
  case tableOutsideImage(tag: UInt64, address: UInt64, size: UInt64)
  /// The dynamic string table is empty or does not end with a NUL.
  case unterminatedStringTable(size: UInt64)
  /// A dynamic symbol's name starts outside the string table.
  case symbolNameOutsideStringTable(symbol: Int, nameOffset: UInt32, tableSize: UInt64)
  /// A symbol the image defines lies past its span.
  case symbolOutsideImage(symbol: Int, name: String, value: UInt64, span: Int)
  /// A relocation's 8-byte target is not inside the span.
  case relocationTargetOutsideImage(RelocationTable, index: Int, offset: UInt64, span: Int)
  /// A relocation's 8-byte target is not inside one writable segment.
  case relocationTargetNotWritable(RelocationTable, index: Int, offset: UInt64)
  /// A relocation names a symbol past the end of the symbol table.
  case symbolIndexOutOfRange(RelocationTable, index: Int, symbol: UInt32, count: Int)
  /// A relocation has a type the loader does not apply.
  case unknownRelocationType(RelocationTable, index: Int, type: UInt32)
  /// The image imports a name the kernel does not export.
  case unresolvedImport(String)
  /// The memory given to `load` or `relocate` is shorter than the span.
  case destinationTooSmall(size: Int, span: Int)

  /// What went wrong, in words, for a load error report.
  public var message: String {
    switch self {
    case .tooShort(let size):
      return "image is \(hex(size)) bytes, too short for the 0x40-byte ELF header"
    case .badMagic(let magic):
      return "bad ELF magic \(hex(magic)) (expected \(hex(ELFHeader.magic)), \"\\x7fELF\")"
    case .notClass64(let elfClass):
      return "ELF class \(elfClass) is not ELFCLASS64 (2)"
    case .notLittleEndian(let encoding):
      return "ELF data encoding \(encoding) is not little-endian (ELFDATA2LSB, 1)"
    case .badVersion(let identification, let header):
      return "ELF version is \(identification) in e_ident and \(header) in e_version "
        + "(expected EV_CURRENT, 1, in both)"
    case .notSharedObject(let type):
      return "ELF type \(type) is not ET_DYN (3): a domain is linked with -shared"
    case .wrongMachine(let machine):
      return "ELF machine \(machine) is not EM_X86_64 (62)"
    case .badProgramHeaderEntrySize(let size):
      return "e_phentsize is \(hex(size)) (expected 0x38, the size of Elf64_Phdr)"
    case .programHeadersOutsideFile(let offset, let count, let fileSize):
      return "program header table at \(hex(offset)) (\(count) entries of 0x38 bytes) runs "
        + "past the end of the \(hex(fileSize))-byte file"
    case .fileSizeExceedsMemorySize(let header, let fileSize, let memorySize):
      return "program header \(header) (PT_LOAD): p_filesz \(hex(fileSize)) exceeds p_memsz "
        + "\(hex(memorySize))"
    case .segmentOutsideFile(let header, let offset, let size, let fileSize):
      return "program header \(header) (PT_LOAD): file bytes at \(hex(offset)) "
        + "(\(hex(size)) bytes) run past the end of the \(hex(fileSize))-byte file"
    case .badSegmentAlignment(let header, let alignment):
      return "program header \(header) (PT_LOAD): p_align \(hex(alignment)) is not a power "
        + "of two no larger than the \(hex(ELFImage.pageSize))-byte page"
    case .misalignedSegment(let header, let offset, let address, let alignment):
      return "program header \(header) (PT_LOAD): p_offset \(hex(offset)) and p_vaddr "
        + "\(hex(address)) differ modulo p_align \(hex(alignment))"
    case .writableAndExecutable(let header, let address):
      return "program header \(header) (PT_LOAD) at \(hex(address)) is both writable and "
        + "executable (W^X)"
    case .segmentBeyondLimit(let header, let address, let size):
      return "program header \(header) (PT_LOAD) at \(hex(address)) (\(hex(size)) bytes) "
        + "reaches past the \(hex(ELFImage.maximumSpan))-byte limit on a domain image"
    case .overlappingSegments(let first, let second):
      return "PT_LOAD segments \(describe(first)) and \(describe(second)) overlap"
    case .segmentsSharePage(let first, let second, let page):
      return "PT_LOAD segments \(describe(first)) and \(describe(second)) share the page at "
        + "\(hex(page)); the kernel maps each page for one segment"
    case .noLoadableSegments:
      return "no PT_LOAD segment with bytes in memory"
    case .relroOutsideSegment(let address, let size):
      return "PT_GNU_RELRO at \(hex(address)) (\(hex(size)) bytes) is not inside one "
        + "writable PT_LOAD segment"
    case .noDynamicSegment:
      return "no PT_DYNAMIC program header: a domain is a shared object with a dynamic "
        + "section"
    case .dynamicOutsideFile(let offset, let size, let fileSize):
      return "PT_DYNAMIC at file offset \(hex(offset)) (\(hex(size)) bytes) runs past the "
        + "end of the \(hex(fileSize))-byte file"
    case .dynamicOutsideSegments(let address, let size):
      return "PT_DYNAMIC at \(hex(address)) (\(hex(size)) bytes) is not inside the file "
        + "bytes of one PT_LOAD segment"
    case .unterminatedDynamicSection(let entries):
      return "dynamic section (\(entries) entries) has no DT_NULL"
    case .unsupportedDynamicTag(let tag):
      return "dynamic tag \(DynamicTag.name(tag)) (\(tag)) is not supported: "
        + (DynamicTag.refusal(tag) ?? "the loader does not handle it")
    case .missingDynamicTag(let tag):
      let hint = tag == DynamicTag.hash ? " (link with --hash-style=sysv)" : ""
      return "no \(DynamicTag.name(tag)) in the dynamic section\(hint)"
    case .badEntrySize(let tag, let size, let expected):
      return "\(DynamicTag.name(tag)) is \(hex(size)) (expected \(hex(expected)))"
    case .badPLTRelocationFormat(let format):
      return "DT_PLTREL is \(DynamicTag.name(format)) (\(format)); expected DT_RELA (7)"
    case .badTableSize(let tag, let size, let entrySize):
      return "\(DynamicTag.name(tag)) \(hex(size)) is not a multiple of the "
        + "\(hex(entrySize))-byte entry"
    case .tableOutsideImage(let tag, let address, let size):
      return "the table \(DynamicTag.name(tag)) points at, \(hex(address)) (\(hex(size)) "
        + "bytes), is not inside the file bytes of one PT_LOAD segment"
    case .unterminatedStringTable(let size):
      return "dynamic string table (\(hex(size)) bytes) does not end with a NUL"
    case .symbolNameOutsideStringTable(let symbol, let nameOffset, let tableSize):
      return "dynamic symbol \(symbol): name offset \(hex(nameOffset)) is outside the "
        + "\(hex(tableSize))-byte string table"
    case .symbolOutsideImage(let symbol, let name, let value, let span):
      return "dynamic symbol \(symbol) '\(name)' has value \(hex(value)), past the "
        + "\(hex(span))-byte image"
    case .relocationTargetOutsideImage(let table, let index, let offset, let span):
      return "relocation \(index) in \(table.name): target \(hex(offset)) (8 bytes) is "
        + "outside the \(hex(span))-byte image"
    case .relocationTargetNotWritable(let table, let index, let offset):
      return "relocation \(index) in \(table.name): target \(hex(offset)) (8 bytes) is not "
        + "inside a writable PT_LOAD segment"
    case .symbolIndexOutOfRange(let table, let index, let symbol, let count):
      return "relocation \(index) in \(table.name): symbol index \(symbol) is out of range "
        + "(the dynamic symbol table has \(count) symbols)"
    case .unknownRelocationType(let table, let index, let type):
      return "relocation \(index) in \(table.name): unknown relocation type \(type) (the "
        + "loader applies R_X86_64_64, R_X86_64_GLOB_DAT, R_X86_64_JUMP_SLOT and "
        + "R_X86_64_RELATIVE)"
    case .unresolvedImport(let name):
      return "unknown import '\(name)': not in the kernel's system interface"
    case .destinationTooSmall(let size, let span):
      return "destination of \(hex(size)) bytes is smaller than the image's "
        + "\(hex(span))-byte span"
    }
  }
}

/// A range of offsets as messages print it: [start, end).
private func describe(_ range: Range<UInt64>) -> String {
  "[\(hex(range.lowerBound)), \(hex(range.upperBound)))"
}

/// `value` in lowercase hexadecimal with a 0x prefix, without leading zeros.
func hex<T: FixedWidthInteger>(_ value: T) -> String {
  let digits: StaticString = "0123456789abcdef"
  var reversed: [UInt8] = []
  var rest = UInt64(truncatingIfNeeded: value)
  repeat {
    reversed.append(digits.utf8Start[Int(rest % 16)])
    rest /= 16
  } while rest != 0
  return "0x" + String(decoding: reversed.reversed(), as: UTF8.self)
}
