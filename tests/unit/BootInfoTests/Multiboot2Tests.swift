/// Multiboot2 parsing: a GRUB-like block, then every way a block can be malformed.
import BootInfo
import Testing

let infoAddress: UInt64 = 0x10000

/// A memory map like QEMU's firmware reports, with one entry of every kind and one type
/// number the specification does not list.
let sampleMap = [
  MapEntry(base: 0, length: 0x9_fc00, type: 1),
  MapEntry(base: 0x9_fc00, length: 0x400, type: 2),
  MapEntry(base: 0x10_0000, length: 0x7ee_0000, type: 1),
  MapEntry(base: 0x7fe_0000, length: 0x2_0000, type: 3),
  MapEntry(base: 0x800_0000, length: 0x1000, type: 4),
  MapEntry(base: 0x800_1000, length: 0x1000, type: 5),
  MapEntry(base: 0xfffc_0000, length: 0x4_0000, type: 7),
]

let sampleRegions = [
  MemoryRegion(start: 0, length: 0x9_fc00, kind: .available),
  MemoryRegion(start: 0x9_fc00, length: 0x400, kind: .reserved),
  MemoryRegion(start: 0x10_0000, length: 0x7ee_0000, kind: .available),
  MemoryRegion(start: 0x7fe_0000, length: 0x2_0000, kind: .acpiReclaimable),
  MemoryRegion(start: 0x800_0000, length: 0x1000, kind: .acpiNVS),
  MemoryRegion(start: 0x800_1000, length: 0x1000, kind: .defective),
  MemoryRegion(start: 0xfffc_0000, length: 0x4_0000, kind: .reserved),
]

/// Memory holding `block` at `infoAddress` and nothing else.
func memory(holding block: [UInt8], at address: UInt64 = infoAddress) -> FakeMemory {
  var memory = FakeMemory()
  memory.map(block, at: address)
  return memory
}

func multiboot2Error(_ block: [UInt8]) -> BootInfoError? {
  parseError(magic: multiboot2Magic, at: infoAddress, in: memory(holding: block))
}

/// A block whose memory map tag sits at offset 0x48 and whose total_size is 0x60.
func blockWithMapAt0x48() -> [UInt8] {
  let block = MB2.block([
    MB2.commandLine("console"),  // 0x08..0x18
    MB2.bootLoaderName("GRUB 2.12"),  // 0x18..0x30
    MB2.tag(5, [UInt8](repeating: 0xff, count: 12)),  // BIOS boot device, 0x30..0x48
    MB2.memoryMap([]),  // 0x48..0x58
  ])
  precondition(block.count == 0x60 && block[0x48] == 6)
  return block
}

@Suite struct Multiboot2Tests {
  @Test func parsesAGrubLikeBlock() throws {
    let block = MB2.block([
      MB2.commandLine("test=boot quiet"),
      MB2.bootLoaderName("GRUB 2.12"),
      MB2.module(start: 0x20_0000, end: 0x20_1000, "initrd"),
      MB2.tag(5, [UInt8](repeating: 0xff, count: 12)),  // BIOS boot device: skipped
      MB2.module(start: 0x30_0000, end: 0x30_0800, "config x=1"),
      MB2.basicMemory(lowerKiB: 639, upperKiB: 130_048),
      MB2.memoryMap(sampleMap),
      MB2.tag(14, [UInt8](repeating: 0xaa, count: 20)),  // ACPI RSDP: skipped
    ])
    let boot = try parseBootInfo(
      magic: multiboot2Magic, infoAddress: infoAddress, memory: memory(holding: block))

    #expect(boot.bootProtocol == .multiboot2)
    #expect(boot.commandLine == "test=boot quiet")
    #expect(boot.bootLoaderName == "GRUB 2.12")
    #expect(
      boot.modules == [
        BootModule(start: 0x20_0000, end: 0x20_1000, commandLine: "initrd"),
        BootModule(start: 0x30_0000, end: 0x30_0800, commandLine: "config x=1"),
      ])
    #expect(boot.memoryMap == sampleRegions)  // the map wins over basic memory information
    #expect(boot.infoRanges == [infoAddress..<infoAddress + UInt64(block.count)])
    #expect(boot.usableBytes == 0x9_fc00 + 0x7ee_0000)
  }

  @Test func absentStringsAreEmpty() throws {
    let block = MB2.block([MB2.memoryMap(sampleMap)])
    let boot = try parseBootInfo(
      magic: multiboot2Magic, infoAddress: infoAddress, memory: memory(holding: block))
    #expect(boot.commandLine == "")
    #expect(boot.bootLoaderName == "")
    #expect(boot.modules == [])
    #expect(boot.infoRanges == [infoAddress..<infoAddress + 8 + 16 + 7 * 24 + 8])
  }

  @Test func emptyCommandLineTag() throws {
    let block = MB2.block([MB2.commandLine(""), MB2.basicMemory(lowerKiB: 1, upperKiB: 1)])
    let boot = try parseBootInfo(
      magic: multiboot2Magic, infoAddress: infoAddress, memory: memory(holding: block))
    #expect(boot.commandLine == "")
  }

  @Test func basicMemoryInformationAloneGivesTwoRegions() throws {
    let block = MB2.block([MB2.basicMemory(lowerKiB: 639, upperKiB: 130_048)])
    let boot = try parseBootInfo(
      magic: multiboot2Magic, infoAddress: infoAddress, memory: memory(holding: block))
    #expect(
      boot.memoryMap == [
        MemoryRegion(start: 0, length: 639 * 1024, kind: .available),
        MemoryRegion(start: 0x10_0000, length: 130_048 * 1024, kind: .available),
      ])
    #expect(boot.usableBytes == (639 + 130_048) * 1024)
  }

  @Test func memoryMapEntriesLongerThan24Bytes() throws {
    let entries = Array(sampleMap.prefix(3))
    let block = MB2.block([MB2.memoryMap(entries, entrySize: 32)])
    let boot = try parseBootInfo(
      magic: multiboot2Magic, infoAddress: infoAddress, memory: memory(holding: block))
    #expect(boot.memoryMap == Array(sampleRegions.prefix(3)))
  }

  @Test func bytesAfterTheLastWholeEntryAreIgnored() throws {
    var tag = MB2.memoryMap(Array(sampleMap.prefix(2)))
    tag += [1, 2, 3, 4, 5, 6, 7, 8]  // a third of an entry
    patch32(&tag, at: 4, UInt32(tag.count))
    let boot = try parseBootInfo(
      magic: multiboot2Magic, infoAddress: infoAddress, memory: memory(holding: MB2.block([tag])))
    #expect(boot.memoryMap == Array(sampleRegions.prefix(2)))
  }

  @Test func tagsAfterTheEndTagAreNotRead() throws {
    var block = MB2.block([MB2.basicMemory(lowerKiB: 1, upperKiB: 2)])
    let endOffset = block.count - 8
    block += MB2.tag(1, [0x41, 0x42])  // unterminated, but past the end tag
    patch32(&block, at: 0, UInt32(block.count))
    #expect(block[endOffset] == 0)
    let boot = try parseBootInfo(
      magic: multiboot2Magic, infoAddress: infoAddress, memory: memory(holding: block))
    #expect(boot.commandLine == "")
  }

  @Test func badMagic() {
    let block = MB2.block([MB2.memoryMap(sampleMap)])
    let error = parseError(magic: 0x1234_5678, at: infoAddress, in: memory(holding: block))
    #expect(error == .badMagic(0x1234_5678))
    #expect(
      error?.message == "bad multiboot magic 0x12345678 (expected 0x36d76289 or 0x2badb002)")
  }

  @Test func misalignedBlock() {
    let block = MB2.block([MB2.memoryMap(sampleMap)])
    let error = parseError(
      magic: multiboot2Magic, at: 0x9004, in: memory(holding: block, at: 0x9004))
    #expect(error == .misalignedInfo(address: 0x9004))
    #expect(error?.message == "multiboot2 info is not 8-byte aligned (0x9004)")
  }

  @Test func unreadableFixedPart() {
    let error = parseError(magic: multiboot2Magic, at: 0x9000, in: FakeMemory())
    #expect(error == .unreadable(.multiboot2Info, address: 0x9000, count: 8))
    #expect(error?.message == "multiboot2 info at 0x9000 (0x8 bytes) is unreadable")
  }

  @Test func totalSizePastReadableMemory() {
    var block = MB2.block([MB2.memoryMap(sampleMap)])
    patch32(&block, at: 0, 0x1000)
    let error = multiboot2Error(block)
    #expect(error == .unreadable(.multiboot2Info, address: infoAddress, count: 0x1000))
    #expect(error?.message == "multiboot2 info at 0x10000 (0x1000 bytes) is unreadable")
  }

  @Test(arguments: [0, 8, 15] as [UInt32])
  func totalSizeTooSmall(totalSize: UInt32) {
    var block = MB2.block([])
    patch32(&block, at: 0, totalSize)
    let error = multiboot2Error(block)
    #expect(error == .totalSizeTooSmall(infoAddress: infoAddress, totalSize: UInt64(totalSize)))
    #expect(
      error?.message
        == "multiboot2 info at 0x10000: total_size \(hex(totalSize)) "
        + "is too small (at least 0x10 for the fixed part and an end tag)")
  }

  @Test func tagPastTheBlockEnd() {
    var block = blockWithMapAt0x48()
    patch32(&block, at: 0x48 + 4, 0x200)
    let error = multiboot2Error(block)
    #expect(
      error
        == .tagPastEnd(infoAddress: infoAddress, offset: 0x48, type: 6, size: 0x200, blockEnd: 0x60)
    )
    #expect(
      error?.message
        == "multiboot2 info at 0x10000: tag 6 at offset 0x48 has size 0x200 past the block end 0x60"
    )
  }

  @Test func totalSizeEndingInsideTheEndTag() {
    // One byte short: the end tag's header no longer fits in the block.
    var block = blockWithMapAt0x48()
    patch32(&block, at: 0, 0x5f)
    #expect(multiboot2Error(block) == .missingEndTag(infoAddress: infoAddress))
  }

  @Test(arguments: [0, 4, 7] as [UInt32])
  func tagSmallerThanItsHeader(size: UInt32) {
    var block = blockWithMapAt0x48()
    patch32(&block, at: 0x18 + 4, size)  // the boot loader name tag
    let error = multiboot2Error(block)
    #expect(
      error
        == .tagTooSmall(
          infoAddress: infoAddress, offset: 0x18, type: 2, size: UInt64(size), minimum: 8))
    #expect(
      error?.message
        == "multiboot2 info at 0x10000: tag 2 at offset 0x18 has size \(hex(size)) "
        + "(at least 0x8 needed)")
  }

  @Test func missingEndTag() {
    let block = MB2.block([MB2.memoryMap(sampleMap)], endTag: false)
    let error = multiboot2Error(block)
    #expect(error == .missingEndTag(infoAddress: infoAddress))
    #expect(error?.message == "multiboot2 info at 0x10000: no end tag")
  }

  @Test func missingEndTagWithTrailingBytes() {
    // Four bytes left after the last tag: too few for another tag header.
    var block = MB2.block([MB2.basicMemory(lowerKiB: 1, upperKiB: 2)], endTag: false)
    block += [0, 0, 0, 0]
    patch32(&block, at: 0, UInt32(block.count))
    #expect(multiboot2Error(block) == .missingEndTag(infoAddress: infoAddress))
  }

  @Test func moduleTagTooSmall() {
    let block = MB2.block([MB2.tag(3, [0, 0, 0x20, 0]), MB2.memoryMap(sampleMap)])
    let error = multiboot2Error(block)
    #expect(
      error == .tagTooSmall(infoAddress: infoAddress, offset: 8, type: 3, size: 12, minimum: 16))
  }

  @Test func basicMemoryTagTooSmall() {
    let block = MB2.block([MB2.tag(4, [1, 0, 0, 0])])
    #expect(
      multiboot2Error(block)
        == .tagTooSmall(infoAddress: infoAddress, offset: 8, type: 4, size: 12, minimum: 16))
  }

  @Test func memoryMapTagTooSmall() {
    let block = MB2.block([MB2.tag(6, [24, 0, 0, 0])])
    #expect(
      multiboot2Error(block)
        == .tagTooSmall(infoAddress: infoAddress, offset: 8, type: 6, size: 12, minimum: 16))
  }

  @Test(arguments: [0, 1, 16, 23] as [UInt32])
  func memoryMapEntrySizeTooSmall(entrySize: UInt32) {
    var block = blockWithMapAt0x48()
    patch32(&block, at: 0x48 + 8, entrySize)
    let error = multiboot2Error(block)
    #expect(
      error
        == .memoryMapEntrySizeTooSmall(
          infoAddress: infoAddress, offset: 0x48, entrySize: UInt64(entrySize)))
    #expect(
      error?.message
        == "multiboot2 info at 0x10000: memory map tag at offset 0x48 has entry_size "
        + "\(hex(entrySize)) (at least 0x18 needed)")
  }

  @Test func commandLineWithoutNul() {
    let block = MB2.block([MB2.tag(1, Array("quiet".utf8)), MB2.memoryMap(sampleMap)])
    let error = multiboot2Error(block)
    #expect(error == .unterminatedTagString(infoAddress: infoAddress, offset: 8, type: 1))
    #expect(
      error?.message
        == "multiboot2 info at 0x10000: tag 1 at offset 0x8 has a string with no NUL inside the tag"
    )
  }

  @Test func moduleStringWithoutNul() {
    var body = ByteWriter()
    body.u32(0x20_0000)
    body.u32(0x20_1000)
    body.bytes += Array("initrd".utf8)
    let block = MB2.block([MB2.tag(3, body.bytes), MB2.memoryMap(sampleMap)])
    #expect(
      multiboot2Error(block) == .unterminatedTagString(infoAddress: infoAddress, offset: 8, type: 3)
    )
  }

  @Test func moduleEndingBeforeItsStart() {
    let block = MB2.block([
      MB2.module(start: 0x20_0000, end: 0x20_1000, "a"),
      MB2.module(start: 0x30_0000, end: 0x2f_f000, "b"),
      MB2.memoryMap(sampleMap),
    ])
    let error = multiboot2Error(block)
    #expect(
      error == .moduleEndsBeforeStart(.multiboot2, index: 1, start: 0x30_0000, end: 0x2f_f000))
    #expect(
      error?.message == "multiboot2 info: module 1 ends at 0x2ff000, before its start 0x300000")
  }

  @Test func memoryRegionWrappingTheAddressSpace() {
    let block = MB2.block([
      MB2.memoryMap([MapEntry(base: 0xffff_ffff_ffff_f000, length: 0x2000, type: 1)])
    ])
    let error = multiboot2Error(block)
    #expect(error == .memoryRegionWraps(.multiboot2, start: 0xffff_ffff_ffff_f000, length: 0x2000))
    #expect(
      error?.message
        == "multiboot2 info: memory region at 0xfffffffffffff000 with length 0x2000 wraps past "
        + "the top of the address space")
  }

  @Test func noMemoryInformation() {
    let block = MB2.block([MB2.commandLine("quiet"), MB2.memoryMap([])])
    let error = multiboot2Error(block)
    #expect(error == .noMemoryInformation(.multiboot2))
    #expect(
      error?.message
        == "multiboot2 info: no memory information (neither a memory map tag nor a basic memory "
        + "information tag)")
  }
}

/// Lowercase hex with a 0x prefix, as the messages print it.
func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
