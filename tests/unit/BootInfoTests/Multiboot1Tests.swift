/// Multiboot1 parsing: a QEMU-like info structure and the buffers it points at, then
/// every way they can be malformed.
import BootInfo
import Testing

/// Where the pieces of a multiboot1 layout go, low in memory as QEMU puts them.
enum At {
  static let info: UInt64 = 0x9500
  static let commandLine: UInt64 = 0x9600
  static let loaderName: UInt64 = 0x9700
  static let moduleList: UInt64 = 0x9800
  static let moduleStrings: UInt64 = 0x9900
  static let memoryMap: UInt64 = 0x9a00
  /// Clear of the rest, for strings longer than the gaps between them.
  static let longString: UInt64 = 0x2_0000
}

/// Flag bits the tests set.
enum Flags {
  static let memoryBounds: UInt32 = 1 << 0
  static let commandLine: UInt32 = 1 << 2
  static let modules: UInt32 = 1 << 3
  static let memoryMap: UInt32 = 1 << 6
  static let bootLoaderName: UInt32 = 1 << 9
  static let vbe: UInt32 = 1 << 11
  static let framebuffer: UInt32 = 1 << 12
}

/// An info structure with a memory map and nothing else, in memory with its map.
func memoryWithMapOnly(_ map: [UInt8], flags: UInt32 = Flags.memoryMap) -> FakeMemory {
  var memory = FakeMemory()
  memory.map(
    MB1.info(
      flags: flags, memoryMapLength: UInt32(map.count), memoryMap: UInt32(At.memoryMap)),
    at: At.info)
  memory.map(map, at: At.memoryMap)
  return memory
}

/// An info structure with a memory map and one more field group set by `flags` and
/// `info`, in memory with its map.
func memoryWithMap(flags: UInt32, info: (inout [UInt8]) -> Void) -> FakeMemory {
  let map = MB1.memoryMap(Array(sampleMap.prefix(3)))
  var bytes = MB1.info(
    flags: Flags.memoryMap | flags, memoryMapLength: UInt32(map.count),
    memoryMap: UInt32(At.memoryMap))
  info(&bytes)
  var memory = FakeMemory()
  memory.map(bytes, at: At.info)
  memory.map(map, at: At.memoryMap)
  return memory
}

func multiboot1Error(_ memory: FakeMemory) -> BootInfoError? {
  parseError(magic: multiboot1Magic, at: At.info, in: memory)
}

@Suite struct Multiboot1Tests {
  @Test func parsesAQemuLikeInfoStructure() throws {
    let commandLine = "/boot/swiftlet32.elf test=all"
    let map = MB1.memoryMap(sampleMap)
    var memory = FakeMemory()
    memory.map(
      MB1.info(
        flags: Flags.memoryBounds | Flags.commandLine | Flags.modules | Flags.memoryMap
          | Flags.bootLoaderName,
        memLower: 639, memUpper: 130_048, commandLine: UInt32(At.commandLine), moduleCount: 2,
        moduleList: UInt32(At.moduleList), memoryMapLength: UInt32(map.count),
        memoryMap: UInt32(At.memoryMap), bootLoaderName: UInt32(At.loaderName)),
      at: At.info)
    memory.map(MB1.string(commandLine), at: At.commandLine)
    memory.map(MB1.string("qemu"), at: At.loaderName)
    memory.map(
      MB1.moduleList([
        (start: 0x20_0000, end: 0x20_1000, string: UInt32(At.moduleStrings)),
        (start: 0x30_0000, end: 0x30_0800, string: UInt32(At.moduleStrings + 0x10)),
      ]), at: At.moduleList)
    memory.map(MB1.string("initrd"), at: At.moduleStrings)
    memory.map(MB1.string("config x=1"), at: At.moduleStrings + 0x10)
    memory.map(map, at: At.memoryMap)

    let boot = try parseBootInfo(magic: multiboot1Magic, infoAddress: At.info, memory: memory)

    #expect(boot.bootProtocol == .multiboot1)
    #expect(boot.commandLine == commandLine)
    #expect(boot.bootLoaderName == "qemu")
    #expect(
      boot.modules == [
        BootModule(start: 0x20_0000, end: 0x20_1000, commandLine: "initrd"),
        BootModule(start: 0x30_0000, end: 0x30_0800, commandLine: "config x=1"),
      ])
    #expect(boot.memoryMap == sampleRegions)  // the map wins over mem_lower/mem_upper
    #expect(boot.usableBytes == 0x9_fc00 + 0x7ee_0000)
    #expect(
      boot.infoRanges == [
        At.info..<At.info + 68,
        At.commandLine..<At.commandLine + UInt64(commandLine.utf8.count) + 1,
        At.loaderName..<At.loaderName + 5,
        At.moduleList..<At.moduleList + 32,
        At.moduleStrings..<At.moduleStrings + 7,
        At.moduleStrings + 0x10..<At.moduleStrings + 0x10 + 11,
        At.memoryMap..<At.memoryMap + UInt64(map.count),
      ])
  }

  @Test func memoryBoundsOnly() throws {
    var memory = FakeMemory()
    memory.map(MB1.info(flags: Flags.memoryBounds, memLower: 639, memUpper: 130_048), at: At.info)
    let boot = try parseBootInfo(magic: multiboot1Magic, infoAddress: At.info, memory: memory)
    #expect(
      boot.memoryMap == [
        MemoryRegion(start: 0, length: 639 * 1024, kind: .available),
        MemoryRegion(start: 0x10_0000, length: 130_048 * 1024, kind: .available),
      ])
    #expect(boot.usableBytes == (639 + 130_048) * 1024)
    #expect(boot.commandLine == "")
    #expect(boot.bootLoaderName == "")
    #expect(boot.modules == [])
    #expect(boot.infoRanges == [At.info..<At.info + 68])
  }

  @Test func emptyMemoryMapFallsBackToMemoryBounds() throws {
    var memory = FakeMemory()
    memory.map(
      MB1.info(flags: Flags.memoryBounds | Flags.memoryMap, memLower: 1, memUpper: 2), at: At.info)
    let boot = try parseBootInfo(magic: multiboot1Magic, infoAddress: At.info, memory: memory)
    #expect(boot.usableBytes == 3 * 1024)
  }

  @Test func fieldsWithoutTheirFlagAreNotRead() throws {
    // Pointers to unmapped memory, but their flags are clear.
    var memory = FakeMemory()
    memory.map(
      MB1.info(
        flags: Flags.memoryBounds, memLower: 1, memUpper: 2, commandLine: 0xdead_0000,
        moduleCount: 3, moduleList: 0xdead_1000, memoryMapLength: 24, memoryMap: 0xdead_2000,
        bootLoaderName: 0xdead_3000),
      at: At.info)
    let boot = try parseBootInfo(magic: multiboot1Magic, infoAddress: At.info, memory: memory)
    #expect(boot.commandLine == "")
    #expect(boot.modules == [])
    #expect(boot.memoryMap.count == 2)
  }

  @Test func zeroStringPointersMeanNoString() throws {
    var memory = memoryWithMap(flags: Flags.commandLine | Flags.bootLoaderName | Flags.modules) {
      patch32(&$0, at: 20, 1)
      patch32(&$0, at: 24, UInt32(At.moduleList))
    }
    memory.map(
      MB1.moduleList([(start: 0x20_0000, end: 0x20_1000, string: 0)]), at: At.moduleList)
    let boot = try parseBootInfo(magic: multiboot1Magic, infoAddress: At.info, memory: memory)
    #expect(boot.commandLine == "")
    #expect(boot.bootLoaderName == "")
    #expect(boot.modules == [BootModule(start: 0x20_0000, end: 0x20_1000, commandLine: "")])
    #expect(
      boot.infoRanges == [
        At.info..<At.info + 68, At.moduleList..<At.moduleList + 16,
        At.memoryMap..<At.memoryMap + 72,
      ])
  }

  @Test func memoryMapEntriesWithLargerSizeFields() throws {
    let map = MB1.memoryMap(Array(sampleMap.prefix(3)), sizeField: 28)
    let boot = try parseBootInfo(
      magic: multiboot1Magic, infoAddress: At.info, memory: memoryWithMapOnly(map))
    #expect(boot.memoryMap == Array(sampleRegions.prefix(3)))
  }

  @Test func infoStructureReachesAsFarAsItsFlagsSay() throws {
    var memory = memoryWithMapOnly(
      MB1.memoryMap(sampleMap), flags: Flags.memoryMap | Flags.framebuffer)
    // Only 68 bytes are mapped, but the framebuffer fields run to 116.
    #expect(
      multiboot1Error(memory) == .unreadable(.multiboot1Info, address: At.info, count: 116))
    memory.map(
      MB1.info(
        flags: Flags.memoryMap | Flags.vbe, memoryMapLength: 24, memoryMap: UInt32(At.memoryMap),
        size: 88), at: 0x8000)
    let boot = try parseBootInfo(magic: multiboot1Magic, infoAddress: 0x8000, memory: memory)
    #expect(boot.infoRanges == [0x8000..<0x8058, At.memoryMap..<At.memoryMap + 24])
  }

  @Test func badMagicForAMultiboot1Structure() {
    let error = parseError(magic: 0x1BAD_B002, at: At.info, in: memoryWithMapOnly([]))
    #expect(error == .badMagic(0x1BAD_B002))
    #expect(
      error?.message == "bad multiboot magic 0x1badb002 (expected 0x36d76289 or 0x2badb002)")
  }

  @Test func unreadableInfoStructure() {
    let error = multiboot1Error(FakeMemory())
    #expect(error == .unreadable(.multiboot1Info, address: At.info, count: 4))
    #expect(error?.message == "multiboot1 info at 0x9500 (0x4 bytes) is unreadable")
  }

  @Test func truncatedInfoStructure() {
    var memory = FakeMemory()
    memory.map([UInt8](repeating: 0, count: 40), at: At.info)
    #expect(multiboot1Error(memory) == .unreadable(.multiboot1Info, address: At.info, count: 68))
  }

  @Test func unreadableMemoryMap() {
    var memory = FakeMemory()
    memory.map(
      MB1.info(flags: Flags.memoryMap, memoryMapLength: 0x90, memoryMap: 0x7_0000), at: At.info)
    let error = multiboot1Error(memory)
    #expect(error == .unreadable(.memoryMap, address: 0x7_0000, count: 0x90))
    #expect(error?.message == "multiboot1 info: memory map at 0x70000 (0x90 bytes) is unreadable")
  }

  @Test func memoryMapLengthPastReadableMemory() {
    var memory = FakeMemory()
    memory.map(
      MB1.info(flags: Flags.memoryMap, memoryMapLength: 0x100, memoryMap: UInt32(At.memoryMap)),
      at: At.info)
    memory.map(MB1.memoryMap(sampleMap), at: At.memoryMap)  // 0xa8 bytes
    #expect(multiboot1Error(memory) == .unreadable(.memoryMap, address: At.memoryMap, count: 0x100))
  }

  @Test func noMemoryInformation() {
    var memory = FakeMemory()
    memory.map(MB1.info(flags: Flags.commandLine), at: At.info)
    let error = multiboot1Error(memory)
    #expect(error == .noMemoryInformation(.multiboot1))
    #expect(
      error?.message
        == "multiboot1 info: no memory information (neither a memory map nor mem_lower/mem_upper)")
  }

  @Test(arguments: [0, 8, 19] as [UInt32])
  func memoryMapEntryTooSmall(sizeField: UInt32) {
    var map = MB1.memoryMap(Array(sampleMap.prefix(2)))
    patch32(&map, at: 24, sizeField)  // the second entry
    let error = multiboot1Error(memoryWithMapOnly(map))
    #expect(error == .memoryMapEntryTooSmall(address: At.memoryMap + 24, size: UInt64(sizeField)))
    #expect(
      error?.message
        == "multiboot1 info: memory map entry at 0x9a18 has size \(hex(sizeField)) "
        + "(at least 0x14 needed)")
  }

  @Test func memoryMapEntryPastTheMapEnd() {
    let map = Array(MB1.memoryMap(Array(sampleMap.prefix(2))).prefix(30))
    let error = multiboot1Error(memoryWithMapOnly(map))
    #expect(error == .memoryMapEntryPastEnd(address: 0x9a18, size: 24, mapEnd: 0x9a1e))
    #expect(
      error?.message
        == "multiboot1 info: memory map entry at 0x9a18 (0x18 bytes) runs past the map end 0x9a1e")
  }

  @Test func memoryMapEndingInsideASizeField() {
    let map = Array(MB1.memoryMap(Array(sampleMap.prefix(2))).prefix(26))
    #expect(
      multiboot1Error(memoryWithMapOnly(map))
        == .memoryMapEntryPastEnd(address: 0x9a18, size: 4, mapEnd: 0x9a1a))
  }

  @Test func memoryRegionWrappingTheAddressSpace() {
    let map = MB1.memoryMap([MapEntry(base: 0x1000, length: .max, type: 2)])
    #expect(
      multiboot1Error(memoryWithMapOnly(map))
        == .memoryRegionWraps(.multiboot1, start: 0x1000, length: .max))
  }

  @Test func commandLineRunningIntoUnreadableMemory() {
    var memory = memoryWithMap(flags: Flags.commandLine) {
      patch32(&$0, at: 16, UInt32(At.commandLine))
    }
    memory.map(Array("test=all".utf8), at: At.commandLine)  // no NUL, then nothing
    let error = multiboot1Error(memory)
    #expect(
      error == .unterminatedString(.commandLine, address: At.commandLine, unreadableAt: 0x9608))
    #expect(
      error?.message
        == "multiboot1 info: command line at 0x9600 runs into unreadable memory at 0x9608 "
        + "before its NUL")
  }

  @Test func commandLinePointingAtUnreadableMemory() {
    let memory = memoryWithMap(flags: Flags.commandLine) { patch32(&$0, at: 16, 0xdead_0000) }
    #expect(
      multiboot1Error(memory)
        == .unterminatedString(.commandLine, address: 0xdead_0000, unreadableAt: 0xdead_0000))
  }

  @Test func commandLineWithNoNulWithinTheLimit() {
    var memory = memoryWithMap(flags: Flags.commandLine) {
      patch32(&$0, at: 16, UInt32(At.longString))
    }
    memory.map([UInt8](repeating: 0x61, count: 5000) + [0], at: At.longString)
    let error = multiboot1Error(memory)
    #expect(error == .stringTooLong(.commandLine, address: At.longString, limit: 4096))
    #expect(
      error?.message == "multiboot1 info: command line at 0x20000 has no NUL within 0x1000 bytes")
  }

  @Test func commandLineOfTheLongestLength() throws {
    var memory = memoryWithMap(flags: Flags.commandLine) {
      patch32(&$0, at: 16, UInt32(At.longString))
    }
    memory.map([UInt8](repeating: 0x61, count: 4095) + [0], at: At.longString)
    let boot = try parseBootInfo(magic: multiboot1Magic, infoAddress: At.info, memory: memory)
    #expect(boot.commandLine.utf8.count == 4095)
  }

  @Test func unterminatedBootLoaderName() {
    var memory = memoryWithMap(flags: Flags.bootLoaderName) {
      patch32(&$0, at: 64, UInt32(At.loaderName))
    }
    memory.map(Array("qemu".utf8), at: At.loaderName)
    #expect(
      multiboot1Error(memory)
        == .unterminatedString(.bootLoaderName, address: At.loaderName, unreadableAt: 0x9704))
  }

  @Test func unreadableModuleList() {
    let memory = memoryWithMap(flags: Flags.modules) {
      patch32(&$0, at: 20, 3)
      patch32(&$0, at: 24, UInt32(At.moduleList))
    }
    let error = multiboot1Error(memory)
    #expect(error == .unreadable(.moduleList, address: At.moduleList, count: 48))
    #expect(error?.message == "multiboot1 info: module list at 0x9800 (0x30 bytes) is unreadable")
  }

  @Test func unterminatedModuleString() {
    var memory = memoryWithMap(flags: Flags.modules) {
      patch32(&$0, at: 20, 2)
      patch32(&$0, at: 24, UInt32(At.moduleList))
    }
    memory.map(
      MB1.moduleList([
        (start: 0x20_0000, end: 0x20_1000, string: UInt32(At.moduleStrings)),
        (start: 0x30_0000, end: 0x30_1000, string: UInt32(At.moduleStrings + 0x10)),
      ]), at: At.moduleList)
    memory.map(MB1.string("initrd"), at: At.moduleStrings)
    memory.map(Array("config".utf8), at: At.moduleStrings + 0x10)
    let error = multiboot1Error(memory)
    #expect(
      error
        == .unterminatedString(
          .moduleString(index: 1), address: At.moduleStrings + 0x10, unreadableAt: 0x9916))
    #expect(
      error?.message
        == "multiboot1 info: module 1 string at 0x9910 runs into unreadable memory at 0x9916 "
        + "before its NUL")
  }

  @Test func moduleEndingBeforeItsStart() {
    var memory = memoryWithMap(flags: Flags.modules) {
      patch32(&$0, at: 20, 1)
      patch32(&$0, at: 24, UInt32(At.moduleList))
    }
    memory.map(MB1.moduleList([(start: 0x20_0000, end: 0x1f_0000, string: 0)]), at: At.moduleList)
    let error = multiboot1Error(memory)
    #expect(
      error == .moduleEndsBeforeStart(.multiboot1, index: 0, start: 0x20_0000, end: 0x1f_0000))
    #expect(
      error?.message == "multiboot1 info: module 0 ends at 0x1f0000, before its start 0x200000")
  }
}
