// The ELF header: what kind of file the image is, and where its program headers are.
//
// A domain image must be a little-endian ELF64 shared object for x86-64; anything else
// was built wrongly, and saying which field is wrong is the most useful thing the loader
// can do about it. Section headers are never read: loading needs only program headers
// and the dynamic section they lead to.

/// The fields of the ELF header the loader uses, checked.
struct ELFHeader {
  /// Size of Elf64_Ehdr.
  static let size = 64
  /// Size of Elf64_Phdr.
  static let programHeaderSize: UInt64 = 56
  /// "\x7fELF", read as a little-endian 32-bit value.
  static let magic: UInt32 = 0x464C_457F
  /// EI_CLASS: ELFCLASS64.
  static let class64: UInt8 = 2
  /// EI_DATA: ELFDATA2LSB.
  static let littleEndian: UInt8 = 1
  /// EI_VERSION and e_version: EV_CURRENT.
  static let currentVersion: UInt32 = 1
  /// e_type: ET_DYN.
  static let sharedObject: UInt16 = 3
  /// e_machine: EM_X86_64.
  static let machine: UInt16 = 62

  /// Where the program header table starts in the file (e_phoff).
  let programHeaderOffset: UInt64
  /// How many program headers there are (e_phnum).
  let programHeaderCount: UInt16

  /// Checks the header at the start of `file`.
  init(_ file: ByteView) throws(ELFError) {
    guard let header = file.view(at: 0, count: UInt64(Self.size)) else {
      throw .tooShort(size: file.count)
    }
    let magic = header.uint32(at: 0)
    guard magic == Self.magic else { throw .badMagic(magic) }
    let elfClass = header.uint8(at: 4)
    guard elfClass == Self.class64 else { throw .notClass64(elfClass) }
    let encoding = header.uint8(at: 5)
    guard encoding == Self.littleEndian else { throw .notLittleEndian(encoding) }
    let identVersion = header.uint8(at: 6)
    let version = header.uint32(at: 20)
    guard UInt32(identVersion) == Self.currentVersion, version == Self.currentVersion else {
      throw .badVersion(identification: identVersion, header: version)
    }
    let type = header.uint16(at: 16)
    guard type == Self.sharedObject else { throw .notSharedObject(type) }
    let machine = header.uint16(at: 18)
    guard machine == Self.machine else { throw .wrongMachine(machine) }
    let entrySize = header.uint16(at: 54)
    guard UInt64(entrySize) == Self.programHeaderSize else {
      throw .badProgramHeaderEntrySize(entrySize)
    }

    programHeaderOffset = header.uint64(at: 32)
    programHeaderCount = header.uint16(at: 56)
    guard file.view(at: programHeaderOffset, count: tableSize) != nil else {
      throw .programHeadersOutsideFile(
        offset: programHeaderOffset, count: programHeaderCount, fileSize: file.count)
    }
  }

  /// The program header table's size in bytes; at most 0xffff entries of 56 bytes.
  var tableSize: UInt64 { UInt64(programHeaderCount) * Self.programHeaderSize }
}

/// One program header (Elf64_Phdr), as the file has it.
struct ProgramHeader {
  static let load: UInt32 = 1
  static let dynamic: UInt32 = 2
  static let relro: UInt32 = 0x6474_E552

  static let executableFlag: UInt32 = 1
  static let writableFlag: UInt32 = 2
  static let readableFlag: UInt32 = 4

  /// The header's position in the table, as error messages count.
  let index: Int
  let type: UInt32
  let flags: UInt32
  let offset: UInt64
  let address: UInt64
  let fileSize: UInt64
  let memorySize: UInt64
  let alignment: UInt64

  /// The header at position `index` of the table at `tableOffset`, already checked to lie
  /// inside `file`.
  init(_ file: ByteView, tableOffset: UInt64, index: Int) {
    let start = tableOffset + UInt64(index) * ELFHeader.programHeaderSize
    guard let entry = file.view(at: start, count: ELFHeader.programHeaderSize) else {
      preconditionFailure("program header outside the checked table")
    }
    self.index = index
    type = entry.uint32(at: 0)
    flags = entry.uint32(at: 4)
    offset = entry.uint64(at: 8)
    address = entry.uint64(at: 16)
    fileSize = entry.uint64(at: 32)
    memorySize = entry.uint64(at: 40)
    alignment = entry.uint64(at: 48)
  }
}
