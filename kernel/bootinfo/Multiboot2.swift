/// Multiboot2 boot information, as GRUB gives it.
///
/// One block, 8-byte aligned: a fixed part (total_size, reserved), then tags, each a
/// type and a size (header included) followed by its fields, each starting on an 8-byte
/// boundary, the last an end tag of type 0. Everything lives inside the block, so it is
/// read once, whole, and every tag is checked against total_size before its fields are
/// read. Tags of types this kernel has no use for are skipped.
enum Multiboot2 {
  /// EAX at kernel entry.
  static let magic: UInt32 = 0x36D7_6289

  /// The tag types the parser reads.
  private enum TagType {
    static let end: UInt32 = 0
    static let commandLine: UInt32 = 1
    static let bootLoaderName: UInt32 = 2
    static let module: UInt32 = 3
    static let basicMemoryInfo: UInt32 = 4
    static let memoryMap: UInt32 = 6
  }

  /// total_size and reserved.
  static let fixedPartSize: UInt64 = 8
  /// Type and size; also the whole of an end tag.
  static let tagHeaderSize: UInt64 = 8
  /// A memory map entry's fields: base, length, type, reserved.
  static let memoryMapEntrySize: UInt64 = 24

  /// Parses the block at `address`.
  static func parse<M: PhysicalMemory>(at address: UInt64, in memory: LoaderMemory<M>)
    throws(BootInfoError) -> BootInfo
  {
    guard address % 8 == 0 else { throw .misalignedInfo(address: address) }
    guard let fixedPart = memory.bytes(at: address, count: fixedPartSize) else {
      throw .unreadable(.multiboot2Info, address: address, count: fixedPartSize)
    }
    let totalSize = UInt64(fixedPart.littleEndianUInt32(at: 0))
    guard totalSize >= fixedPartSize + tagHeaderSize else {
      throw .totalSizeTooSmall(infoAddress: address, totalSize: totalSize)
    }
    guard let block = memory.bytes(at: address, count: totalSize) else {
      throw .unreadable(.multiboot2Info, address: address, count: totalSize)
    }
    var boot = BootInfo(bootProtocol: .multiboot2)
    boot.infoRanges = [address..<address + totalSize]
    var basicMemory: [MemoryRegion] = []

    // Each pass moves on by at least a tag header, so the walk ends.
    var offset = Int(fixedPartSize)
    while offset + Int(tagHeaderSize) <= block.count {
      let type = block.littleEndianUInt32(at: offset)
      let size = UInt64(block.littleEndianUInt32(at: offset + 4))
      guard size >= tagHeaderSize else {
        throw .tagTooSmall(
          infoAddress: address, offset: UInt64(offset), type: type, size: size,
          minimum: tagHeaderSize)
      }
      guard size <= UInt64(block.count - offset) else {
        throw .tagPastEnd(
          infoAddress: address, offset: UInt64(offset), type: type, size: size,
          blockEnd: totalSize)
      }
      let tag = Tag(
        infoAddress: address, offset: offset, type: type,
        bytes: UnsafeRawBufferPointer(rebasing: block[offset..<offset + Int(size)]))
      switch type {
      case TagType.end:
        return try finish(boot, basicMemory: basicMemory)
      case TagType.commandLine:
        boot.commandLine = try tag.string(from: 8)
      case TagType.bootLoaderName:
        boot.bootLoaderName = try tag.string(from: 8)
      case TagType.module:
        boot.modules.append(try tag.module(index: boot.modules.count))
      case TagType.basicMemoryInfo:
        try tag.requireSize(16)
        basicMemory = regions(
          lowerKiB: tag.bytes.littleEndianUInt32(at: 8),
          upperKiB: tag.bytes.littleEndianUInt32(at: 12))
      case TagType.memoryMap:
        boot.memoryMap.append(contentsOf: try tag.memoryRegions())
      default:
        break
      }
      offset += (Int(size) + 7) & ~7
    }
    throw .missingEndTag(infoAddress: address)
  }

  /// The memory map tag wins over basic memory information; one of them must be there.
  private static func finish(_ boot: BootInfo, basicMemory: [MemoryRegion])
    throws(BootInfoError) -> BootInfo
  {
    var boot = boot
    if boot.memoryMap.isEmpty { boot.memoryMap = basicMemory }
    guard !boot.memoryMap.isEmpty else { throw .noMemoryInformation(.multiboot2) }
    return boot
  }

  /// One tag, its bytes already checked to lie inside the block.
  private struct Tag {
    let infoAddress: UInt64
    let offset: Int
    let type: UInt32
    let bytes: UnsafeRawBufferPointer

    /// Throws unless the tag has room for `minimum` bytes of header and fields.
    func requireSize(_ minimum: UInt64) throws(BootInfoError) {
      guard UInt64(bytes.count) >= minimum else {
        throw .tagTooSmall(
          infoAddress: infoAddress, offset: UInt64(offset), type: type,
          size: UInt64(bytes.count), minimum: minimum)
      }
    }

    /// The NUL-terminated string starting `start` bytes into the tag.
    func string(from start: Int) throws(BootInfoError) -> String {
      guard let text = bytes.nulTerminatedString(from: start) else {
        throw .unterminatedTagString(infoAddress: infoAddress, offset: UInt64(offset), type: type)
      }
      return text
    }

    /// A module tag: mod_start, mod_end, then the module's string.
    func module(index: Int) throws(BootInfoError) -> BootModule {
      try requireSize(16)
      let start = UInt64(bytes.littleEndianUInt32(at: 8))
      let end = UInt64(bytes.littleEndianUInt32(at: 12))
      guard start <= end else {
        throw .moduleEndsBeforeStart(.multiboot2, index: index, start: start, end: end)
      }
      return BootModule(start: start, end: end, commandLine: try string(from: 16))
    }

    /// A memory map tag: entry_size, entry_version, then entries of entry_size bytes, of
    /// which the first 24 are base, length, type and reserved. Bytes after the last whole
    /// entry are ignored.
    func memoryRegions() throws(BootInfoError) -> [MemoryRegion] {
      try requireSize(16)
      let entrySize = Int(bytes.littleEndianUInt32(at: 8))
      guard entrySize >= Int(memoryMapEntrySize) else {
        throw .memoryMapEntrySizeTooSmall(
          infoAddress: infoAddress, offset: UInt64(offset), entrySize: UInt64(entrySize))
      }
      var regions: [MemoryRegion] = []
      for entry in stride(from: 16, through: bytes.count - entrySize, by: entrySize) {
        let start = bytes.littleEndianUInt64(at: entry)
        let length = bytes.littleEndianUInt64(at: entry + 8)
        let type = bytes.littleEndianUInt32(at: entry + 16)
        guard !start.addingReportingOverflow(length).overflow else {
          throw .memoryRegionWraps(.multiboot2, start: start, length: length)
        }
        regions.append(
          MemoryRegion(start: start, length: length, kind: MemoryKind(multibootType: type)))
      }
      return regions
    }
  }
}
