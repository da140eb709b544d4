/// Builders of multiboot1 and multiboot2 boot information, byte for byte as the
/// specifications lay it out, and a way to see what the parser throws.
import BootInfo

let multiboot1Magic: UInt32 = 0x2BAD_B002
let multiboot2Magic: UInt32 = 0x36D7_6289

/// Little-endian bytes, appended field by field.
struct ByteWriter {
  var bytes: [UInt8] = []

  mutating func u32(_ value: UInt32) {
    for shift in stride(from: 0, to: 32, by: 8) {
      bytes.append(UInt8(truncatingIfNeeded: value >> shift))
    }
  }

  mutating func u64(_ value: UInt64) {
    for shift in stride(from: 0, to: 64, by: 8) {
      bytes.append(UInt8(truncatingIfNeeded: value >> shift))
    }
  }

  /// The string's bytes and its NUL.
  mutating func cString(_ text: String) {
    bytes += Array(text.utf8) + [0]
  }
}

/// Overwrites the 32-bit little-endian field at `offset`.
func patch32(_ bytes: inout [UInt8], at offset: Int, _ value: UInt32) {
  for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
}

/// A memory map entry as both protocols number it.
struct MapEntry {
  var base: UInt64
  var length: UInt64
  var type: UInt32
}

/// Multiboot2 tags and blocks.
enum MB2 {
  /// A tag of `type` with `body` after its header, unpadded.
  static func tag(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
    var writer = ByteWriter()
    writer.u32(type)
    writer.u32(UInt32(8 + body.count))
    return writer.bytes + body
  }

  static func commandLine(_ text: String) -> [UInt8] { tag(1, Array(text.utf8) + [0]) }

  static func bootLoaderName(_ text: String) -> [UInt8] { tag(2, Array(text.utf8) + [0]) }

  static func module(start: UInt32, end: UInt32, _ text: String) -> [UInt8] {
    var writer = ByteWriter()
    writer.u32(start)
    writer.u32(end)
    writer.cString(text)
    return tag(3, writer.bytes)
  }

  static func basicMemory(lowerKiB: UInt32, upperKiB: UInt32) -> [UInt8] {
    var writer = ByteWriter()
    writer.u32(lowerKiB)
    writer.u32(upperKiB)
    return tag(4, writer.bytes)
  }

  /// A memory map tag; entries longer than 24 bytes are padded with 0xee.
  static func memoryMap(_ entries: [MapEntry], entrySize: UInt32 = 24) -> [UInt8] {
    var writer = ByteWriter()
    writer.u32(entrySize)
    writer.u32(0)  // entry_version
    for entry in entries {
      writer.u64(entry.base)
      writer.u64(entry.length)
      writer.u32(entry.type)
      writer.u32(0)  // reserved
      writer.bytes += [UInt8](repeating: 0xee, count: max(0, Int(entrySize) - 24))
    }
    return tag(6, writer.bytes)
  }

  static let endTag = tag(0, [])

  /// The fixed part, then each tag padded to 8 bytes, then (unless told not to) an end
  /// tag; total_size counts it all.
  static func block(_ tags: [[UInt8]], endTag: Bool = true) -> [UInt8] {
    var body: [UInt8] = []
    for tag in tags + (endTag ? [MB2.endTag] : []) {
      body += tag
      while body.count % 8 != 0 { body.append(0) }
    }
    var writer = ByteWriter()
    writer.u32(UInt32(8 + body.count))
    writer.u32(0)  // reserved
    return writer.bytes + body
  }
}

/// Multiboot1 info structures and the buffers they point at.
enum MB1 {
  /// The info structure through boot_loader_name (68 bytes), the part the parser reads
  /// unless flags say the APM, VBE or framebuffer fields are valid; `size` pads it.
  static func info(
    flags: UInt32, memLower: UInt32 = 0, memUpper: UInt32 = 0, commandLine: UInt32 = 0,
    moduleCount: UInt32 = 0, moduleList: UInt32 = 0, memoryMapLength: UInt32 = 0,
    memoryMap: UInt32 = 0, bootLoaderName: UInt32 = 0, size: Int = 68
  ) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: size)
    patch32(&bytes, at: 0, flags)
    patch32(&bytes, at: 4, memLower)
    patch32(&bytes, at: 8, memUpper)
    patch32(&bytes, at: 16, commandLine)
    patch32(&bytes, at: 20, moduleCount)
    patch32(&bytes, at: 24, moduleList)
    patch32(&bytes, at: 44, memoryMapLength)
    patch32(&bytes, at: 48, memoryMap)
    patch32(&bytes, at: 64, bootLoaderName)
    return bytes
  }

  /// A memory map buffer: each entry a size field, then base, length and type, then
  /// `sizeField - 20` bytes of padding.
  static func memoryMap(_ entries: [MapEntry], sizeField: UInt32 = 20) -> [UInt8] {
    var writer = ByteWriter()
    for entry in entries {
      writer.u32(sizeField)
      writer.u64(entry.base)
      writer.u64(entry.length)
      writer.u32(entry.type)
      writer.bytes += [UInt8](repeating: 0xee, count: max(0, Int(sizeField) - 20))
    }
    return writer.bytes
  }

  /// A module list: mod_start, mod_end, string pointer, reserved.
  static func moduleList(_ modules: [(start: UInt32, end: UInt32, string: UInt32)]) -> [UInt8] {
    var writer = ByteWriter()
    for module in modules {
      writer.u32(module.start)
      writer.u32(module.end)
      writer.u32(module.string)
      writer.u32(0)
    }
    return writer.bytes
  }

  /// A NUL-terminated string's bytes.
  static func string(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }
}

/// The error parsing throws, or nil if it succeeds.
func parseError(magic: UInt32, at address: UInt64, in memory: FakeMemory) -> BootInfoError? {
  do {
    _ = try parseBootInfo(magic: magic, infoAddress: address, memory: memory)
    return nil
  } catch {
    return error
  }
}
