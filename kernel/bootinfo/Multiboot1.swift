/// Multiboot 0.6.96 boot information, as QEMU's `-kernel` gives it.
///
/// The info structure is a row of 32-bit fields, some valid only when their bit in
/// `flags` is set, most of them pointers: to the command line, the module list (whose
/// entries point at module strings), the memory map buffer and the loader's name. Each
/// is read and bounds-checked where it lies, and each goes into `infoRanges`. A pointer
/// of 0 where a string should be means no string: loaders leave the field zero when they
/// have nothing to say, and address 0 holds the real-mode interrupt table, not text.
enum Multiboot1 {
  /// EAX at kernel entry.
  static let magic: UInt32 = 0x2BAD_B002

  /// Byte offsets of the fields in the info structure.
  private enum Field {
    static let flags = 0
    static let memoryLower = 4
    static let memoryUpper = 8
    static let commandLine = 16
    static let moduleCount = 20
    static let moduleList = 24
    static let memoryMapLength = 44
    static let memoryMapAddress = 48
    static let bootLoaderName = 64
  }

  /// Bits of `flags`, each saying a group of fields is valid.
  private enum Flag {
    static let memoryBounds: UInt32 = 1 << 0
    static let commandLine: UInt32 = 1 << 2
    static let modules: UInt32 = 1 << 3
    static let memoryMap: UInt32 = 1 << 6
    static let bootLoaderName: UInt32 = 1 << 9
    static let apmTable: UInt32 = 1 << 10
    static let vbe: UInt32 = 1 << 11
    static let framebuffer: UInt32 = 1 << 12
  }

  /// The bytes of a module list entry: mod_start, mod_end, string, reserved.
  static let moduleEntrySize: UInt64 = 16
  /// The least a memory map entry's size field may say: base, length and type. The size
  /// field itself comes on top.
  static let memoryMapEntrySize: UInt64 = 20

  /// Parses the info structure at `address`.
  static func parse<M: PhysicalMemory>(at address: UInt64, in memory: LoaderMemory<M>)
    throws(BootInfoError) -> BootInfo
  {
    guard let flagsField = memory.bytes(at: address, count: 4) else {
      throw .unreadable(.multiboot1Info, address: address, count: 4)
    }
    let flags = flagsField.littleEndianUInt32(at: Field.flags)
    let size = structureSize(flags: flags)
    guard let info = memory.bytes(at: address, count: size) else {
      throw .unreadable(.multiboot1Info, address: address, count: size)
    }
    var boot = BootInfo(bootProtocol: .multiboot1)
    boot.infoRanges.append(address..<address + size)

    if flags & Flag.commandLine != 0 {
      let pointer = info.littleEndianUInt32(at: Field.commandLine)
      boot.commandLine = try string(at: pointer, .commandLine, in: memory, into: &boot.infoRanges)
    }
    if flags & Flag.bootLoaderName != 0 {
      let pointer = info.littleEndianUInt32(at: Field.bootLoaderName)
      boot.bootLoaderName = try string(
        at: pointer, .bootLoaderName, in: memory, into: &boot.infoRanges)
    }

    if flags & Flag.modules != 0 {
      try readModules(
        count: info.littleEndianUInt32(at: Field.moduleCount),
        at: info.littleEndianUInt32(at: Field.moduleList), in: memory, into: &boot)
    }
    if flags & Flag.memoryMap != 0 {
      try readMemoryMap(
        length: info.littleEndianUInt32(at: Field.memoryMapLength),
        at: info.littleEndianUInt32(at: Field.memoryMapAddress), in: memory, into: &boot)
    }
    if boot.memoryMap.isEmpty && flags & Flag.memoryBounds != 0 {
      boot.memoryMap = regions(
        lowerKiB: info.littleEndianUInt32(at: Field.memoryLower),
        upperKiB: info.littleEndianUInt32(at: Field.memoryUpper))
    }
    guard !boot.memoryMap.isEmpty else { throw .noMemoryInformation(.multiboot1) }
    return boot
  }

  /// How far the structure reaches: through boot_loader_name, which this parser reads,
  /// and further when flags say the APM, VBE or framebuffer fields are in use.
  private static func structureSize(flags: UInt32) -> UInt64 {
    if flags & Flag.framebuffer != 0 { return 116 }
    if flags & Flag.vbe != 0 { return 88 }
    if flags & Flag.apmTable != 0 { return 72 }
    return 68
  }

  /// The string at `pointer`, its bytes added to `ranges`; "" for a zero pointer.
  private static func string<M: PhysicalMemory>(
    at pointer: UInt32, _ part: BootInfoPart, in memory: LoaderMemory<M>,
    into ranges: inout [Range<UInt64>]
  ) throws(BootInfoError) -> String {
    guard pointer != 0 else { return "" }
    let (text, range) = try memory.cString(at: pointer, part: part)
    ranges.append(range)
    return text
  }

  /// Reads `count` module list entries at `listAddress` and each module's string.
  private static func readModules<M: PhysicalMemory>(
    count: UInt32, at listAddress: UInt32, in memory: LoaderMemory<M>,
    into boot: inout BootInfo
  ) throws(BootInfoError) {
    guard count > 0 else { return }
    let start = UInt64(listAddress)
    let size = UInt64(count) * moduleEntrySize
    guard let list = memory.bytes(at: start, count: size) else {
      throw .unreadable(.moduleList, address: start, count: size)
    }
    boot.infoRanges.append(start..<start + size)
    for index in 0..<Int(count) {
      let entry = index * Int(moduleEntrySize)
      let moduleStart = UInt64(list.littleEndianUInt32(at: entry))
      let moduleEnd = UInt64(list.littleEndianUInt32(at: entry + 4))
      let stringAddress = list.littleEndianUInt32(at: entry + 8)
      guard moduleStart <= moduleEnd else {
        throw .moduleEndsBeforeStart(.multiboot1, index: index, start: moduleStart, end: moduleEnd)
      }
      let commandLine = try string(
        at: stringAddress, .moduleString(index: index), in: memory, into: &boot.infoRanges)
      boot.modules.append(BootModule(start: moduleStart, end: moduleEnd, commandLine: commandLine))
    }
  }

  /// Reads the memory map buffer: entries of a 32-bit size field, then base (64 bits),
  /// length (64 bits) and type (32 bits). The size field counts the bytes after itself,
  /// and may be larger than 20 for entries with more fields.
  private static func readMemoryMap<M: PhysicalMemory>(
    length: UInt32, at mapAddress: UInt32, in memory: LoaderMemory<M>,
    into boot: inout BootInfo
  ) throws(BootInfoError) {
    let start = UInt64(mapAddress)
    let end = start + UInt64(length)
    guard let map = memory.bytes(at: start, count: UInt64(length)) else {
      throw .unreadable(.memoryMap, address: start, count: UInt64(length))
    }
    if length > 0 { boot.infoRanges.append(start..<end) }

    // Each pass moves on by at least 24 bytes, so the walk ends.
    var offset = 0
    while offset < map.count {
      let entryAddress = start + UInt64(offset)
      guard map.count - offset >= 4 else {
        throw .memoryMapEntryPastEnd(address: entryAddress, size: 4, mapEnd: end)
      }
      let size = UInt64(map.littleEndianUInt32(at: offset))
      guard size >= memoryMapEntrySize else {
        throw .memoryMapEntryTooSmall(address: entryAddress, size: size)
      }
      guard 4 + size <= UInt64(map.count - offset) else {
        throw .memoryMapEntryPastEnd(address: entryAddress, size: 4 + size, mapEnd: end)
      }
      let base = map.littleEndianUInt64(at: offset + 4)
      let regionLength = map.littleEndianUInt64(at: offset + 12)
      let type = map.littleEndianUInt32(at: offset + 20)
      guard !base.addingReportingOverflow(regionLength).overflow else {
        throw .memoryRegionWraps(.multiboot1, start: base, length: regionLength)
      }
      boot.memoryMap.append(
        MemoryRegion(start: base, length: regionLength, kind: MemoryKind(multibootType: type)))
      offset += 4 + Int(size)
    }
  }
}
