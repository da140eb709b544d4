// Why the boot information could not be parsed, with everything needed to say so.
//
// Each case carries the addresses, offsets and sizes involved, so a test can match
// the exact problem and a panic message can name it. Multiboot2 problems give the
// block's address and offsets within it; multiboot1 problems give absolute addresses,
// since its pieces lie anywhere.

/// A piece of the boot information an error can point at.
public enum BootInfoPart: Equatable, Sendable {
  /// The multiboot1 info structure.
  case multiboot1Info
  /// The multiboot2 information block.
  case multiboot2Info
  /// The multiboot1 memory map buffer.
  case memoryMap
  /// The multiboot1 module list.
  case moduleList
  /// The kernel command line.
  case commandLine
  /// The boot loader's name.
  case bootLoaderName
  /// The string of the module at this index (from 0).
  case moduleString(index: Int)

  /// The part's name, as messages print it.
  var name: String {
    switch self {
    case .multiboot1Info: "multiboot1 info"
    case .multiboot2Info: "multiboot2 info"
    case .memoryMap: "memory map"
    case .moduleList: "module list"
    case .commandLine: "command line"
    case .bootLoaderName: "boot loader name"
    case .moduleString(let index): "module \(index) string"
    }
  }
}

/// Why `parseBootInfo` failed.
public enum BootInfoError: Error, Equatable {
  /// EAX held neither multiboot magic.
  case badMagic(UInt32)
  /// The multiboot2 block does not start on an 8-byte boundary.
  case misalignedInfo(address: UInt64)
  /// `count` bytes at `address` could not be read. Every part but `.multiboot2Info` is
  /// multiboot1's, where a part's address is what the info structure says.
  case unreadable(BootInfoPart, address: UInt64, count: UInt64)
  /// The multiboot2 total_size cannot hold the fixed part and an end tag.
  case totalSizeTooSmall(infoAddress: UInt64, totalSize: UInt64)
  /// A multiboot2 tag is smaller than its header or than its type's fixed fields.
  case tagTooSmall(infoAddress: UInt64, offset: UInt64, type: UInt32, size: UInt64, minimum: UInt64)
  /// A multiboot2 tag runs past total_size, the block end.
  case tagPastEnd(infoAddress: UInt64, offset: UInt64, type: UInt32, size: UInt64, blockEnd: UInt64)
  /// The multiboot2 tags ran out before an end tag.
  case missingEndTag(infoAddress: UInt64)
  /// A multiboot2 string tag, or a module tag's string, has no NUL inside the tag.
  case unterminatedTagString(infoAddress: UInt64, offset: UInt64, type: UInt32)
  /// A multiboot2 memory map tag's entry_size is smaller than an entry's fields.
  case memoryMapEntrySizeTooSmall(infoAddress: UInt64, offset: UInt64, entrySize: UInt64)
  /// A multiboot1 memory map entry's size field is smaller than an entry's fields.
  case memoryMapEntryTooSmall(address: UInt64, size: UInt64)
  /// A multiboot1 memory map entry (`size` bytes with its size field) runs past the end of
  /// the map buffer.
  case memoryMapEntryPastEnd(address: UInt64, size: UInt64, mapEnd: UInt64)
  /// A memory map entry's base plus length passes the top of the address space.
  case memoryRegionWraps(BootProtocol, start: UInt64, length: UInt64)
  /// A module's end address is below its start.
  case moduleEndsBeforeStart(BootProtocol, index: Int, start: UInt64, end: UInt64)
  /// A multiboot1 string runs into unreadable memory before its NUL.
  case unterminatedString(BootInfoPart, address: UInt64, unreadableAt: UInt64)
  /// A multiboot1 string has no NUL within `limit` bytes.
  case stringTooLong(BootInfoPart, address: UInt64, limit: UInt64)
  /// The loader gave neither a memory map nor the sizes of lower and upper memory.
  case noMemoryInformation(BootProtocol)

  /// What went wrong, in words, for a panic message.
  public var message: String {
    switch self {
    case .badMagic(let magic):
      return "bad multiboot magic \(hex(magic)) (expected \(hex(Multiboot2.magic)) or "
        + "\(hex(Multiboot1.magic)))"
    case .misalignedInfo(let address):
      return "multiboot2 info is not 8-byte aligned (\(hex(address)))"
    case .unreadable(let part, let address, let count):
      let what = "\(part.name) at \(hex(address)) (\(hex(count)) bytes) is unreadable"
      switch part {
      case .multiboot1Info, .multiboot2Info: return what
      default: return "multiboot1 info: \(what)"
      }
    case .totalSizeTooSmall(let info, let totalSize):
      return "multiboot2 info at \(hex(info)): total_size \(hex(totalSize)) is too small "
        + "(at least 0x10 for the fixed part and an end tag)"
    case .tagTooSmall(let info, let offset, let type, let size, let minimum):
      return "multiboot2 info at \(hex(info)): tag \(type) at offset \(hex(offset)) has size "
        + "\(hex(size)) (at least \(hex(minimum)) needed)"
    case .tagPastEnd(let info, let offset, let type, let size, let blockEnd):
      return "multiboot2 info at \(hex(info)): tag \(type) at offset \(hex(offset)) has size "
        + "\(hex(size)) past the block end \(hex(blockEnd))"
    case .missingEndTag(let info):
      return "multiboot2 info at \(hex(info)): no end tag"
    case .unterminatedTagString(let info, let offset, let type):
      return "multiboot2 info at \(hex(info)): tag \(type) at offset \(hex(offset)) has a "
        + "string with no NUL inside the tag"
    case .memoryMapEntrySizeTooSmall(let info, let offset, let entrySize):
      return "multiboot2 info at \(hex(info)): memory map tag at offset \(hex(offset)) has "
        + "entry_size \(hex(entrySize)) (at least \(hex(Multiboot2.memoryMapEntrySize)) needed)"
    case .memoryMapEntryTooSmall(let address, let size):
      return "multiboot1 info: memory map entry at \(hex(address)) has size \(hex(size)) "
        + "(at least \(hex(Multiboot1.memoryMapEntrySize)) needed)"
    case .memoryMapEntryPastEnd(let address, let size, let mapEnd):
      return "multiboot1 info: memory map entry at \(hex(address)) (\(hex(size)) bytes) runs "
        + "past the map end \(hex(mapEnd))"
    case .memoryRegionWraps(let bootProtocol, let start, let length):
      return "\(bootProtocol.name) info: memory region at \(hex(start)) with length "
        + "\(hex(length)) wraps past the top of the address space"
    case .moduleEndsBeforeStart(let bootProtocol, let index, let start, let end):
      return "\(bootProtocol.name) info: module \(index) ends at \(hex(end)), before its "
        + "start \(hex(start))"
    case .unterminatedString(let part, let address, let unreadableAt):
      return "multiboot1 info: \(part.name) at \(hex(address)) runs into unreadable memory "
        + "at \(hex(unreadableAt)) before its NUL"
    case .stringTooLong(let part, let address, let limit):
      return "multiboot1 info: \(part.name) at \(hex(address)) has no NUL within "
        + "\(hex(limit)) bytes"
    case .noMemoryInformation(.multiboot1):
      return "multiboot1 info: no memory information (neither a memory map nor "
        + "mem_lower/mem_upper)"
    case .noMemoryInformation(.multiboot2):
      return "multiboot2 info: no memory information (neither a memory map tag nor a basic "
        + "memory information tag)"
    }
  }
}

/// `value` in lowercase hexadecimal with a 0x prefix, without leading zeros.
func hex<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> String {
  let digits: StaticString = "0123456789abcdef"
  var reversed: [UInt8] = []
  var rest = UInt64(value)
  repeat {
    reversed.append(digits.utf8Start[Int(rest % 16)])
    rest /= 16
  } while rest != 0
  return "0x" + String(decoding: reversed.reversed(), as: UTF8.self)
}
