/// PT_LOAD segments, PT_GNU_RELRO and PT_DYNAMIC: every way the layout can be unsafe or
/// impossible. Program header 0 is text, 1 data, 2 PT_DYNAMIC, 3 PT_GNU_RELRO.
import ELF
import Testing

/// The realistic image with program header `index` changed by `change`.
func changing(header index: Int, _ change: (inout ProgramHeaderSpec) -> Void) -> ImageBuilder {
  var builder = ImageBuilder.realistic()
  change(&builder.programHeaders[index])
  return builder
}

@Suite struct SegmentTests {
  @Test func fileSizeExceedsMemorySize() {
    expectError(
      changing(header: 1) { $0.fileSize = 0x500 },
      .fileSizeExceedsMemorySize(header: 1, fileSize: 0x500, memorySize: 0x400),
      "program header 1 (PT_LOAD): p_filesz 0x500 exceeds p_memsz 0x400")
  }

  @Test func segmentOutsideTheFile() {
    expectError(
      changing(header: 1) { $0.fileSize = 0x201 },
      .segmentOutsideFile(header: 1, offset: 0x1000, size: 0x201, fileSize: 0x1200),
      "program header 1 (PT_LOAD): file bytes at 0x1000 (0x201 bytes) run past the end of "
        + "the 0x1200-byte file")
    expectError(
      changing(header: 1) { $0.offset = .max - 0xff },
      .segmentOutsideFile(header: 1, offset: .max - 0xff, size: 0x200, fileSize: 0x1200),
      "program header 1 (PT_LOAD): file bytes at 0xffffffffffffff00 (0x200 bytes) run past "
        + "the end of the 0x1200-byte file")
  }

  @Test func badAlignment() {
    expectError(
      changing(header: 1) { $0.alignment = 0x3000 },
      .badSegmentAlignment(header: 1, alignment: 0x3000),
      "program header 1 (PT_LOAD): p_align 0x3000 is not a power of two no larger than the "
        + "0x1000-byte page")
    expectError(
      changing(header: 0) { $0.alignment = 0x20_0000 },
      .badSegmentAlignment(header: 0, alignment: 0x20_0000),
      "program header 0 (PT_LOAD): p_align 0x200000 is not a power of two no larger than the "
        + "0x1000-byte page")
  }

  @Test func fileOffsetAndAddressDisagreeModuloAlignment() {
    expectError(
      changing(header: 1) { $0.address = 0x2100 },
      .misalignedSegment(header: 1, offset: 0x1000, address: 0x2100, alignment: 0x1000),
      "program header 1 (PT_LOAD): p_offset 0x1000 and p_vaddr 0x2100 differ modulo p_align "
        + "0x1000")
  }

  @Test func alignmentsOfZeroAndOneConstrainNothing() throws {
    var builder = ImageBuilder.realistic()
    builder.programHeaders[0].alignment = 0
    builder.programHeaders[1].alignment = 1
    try withImage(builder.build()) { image in #expect(image.span == 0x3000) }
  }

  @Test func writableAndExecutable() {
    expectError(
      changing(header: 1) { $0.flags = Spec.readable | Spec.writable | Spec.executable },
      .writableAndExecutable(header: 1, address: 0x2000),
      "program header 1 (PT_LOAD) at 0x2000 is both writable and executable (W^X)")
  }

  @Test func segmentPastTheSizeLimit() {
    expectError(
      changing(header: 1) {
        $0.address = 0x3FF_F000
        $0.memorySize = 0x1001
      },
      .segmentBeyondLimit(header: 1, address: 0x3FF_F000, size: 0x1001),
      "program header 1 (PT_LOAD) at 0x3fff000 (0x1001 bytes) reaches past the "
        + "0x4000000-byte limit on a domain image")
    expectError(
      changing(header: 1) { $0.address = 0xFFFF_FFFF_FFFF_F000 },
      .segmentBeyondLimit(header: 1, address: 0xFFFF_FFFF_FFFF_F000, size: 0x400),
      "program header 1 (PT_LOAD) at 0xfffffffffffff000 (0x400 bytes) reaches past the "
        + "0x4000000-byte limit on a domain image")
  }

  @Test func aSegmentEndingAtTheLimitFits() {
    var builder = changing(header: 1) {
      $0.address = 0x3FF_F000
      $0.memorySize = 0x1000
    }
    builder.programHeaders.removeLast()  // PT_GNU_RELRO
    // A valid layout; the first check to fail is the next one: the dynamic section's
    // address no longer lies in a segment.
    #expect(
      validationError(builder.build())
        == .dynamicOutsideSegments(address: 0x2000, size: 0xe0))
  }

  @Test func overlappingSegments() {
    expectError(
      changing(header: 0) { $0.memorySize = 0x2100 },
      .overlappingSegments(0..<0x2100, 0x2000..<0x2400),
      "PT_LOAD segments [0x0, 0x2100) and [0x2000, 0x2400) overlap")
  }

  @Test func segmentsSharingAPage() {
    var builder = ImageBuilder.realistic()
    builder.programHeaders[0].memorySize = 0x1800
    builder.programHeaders[1].address = 0x1c00
    builder.programHeaders[1].alignment = 0x400
    expectError(
      builder, .segmentsSharePage(0..<0x1800, 0x1c00..<0x2000, page: 0x1000),
      "PT_LOAD segments [0x0, 0x1800) and [0x1c00, 0x2000) share the page at 0x1000; the "
        + "kernel maps each page for one segment")
  }

  @Test func noLoadableSegments() {
    var builder = ImageBuilder.realistic()
    builder.programHeaders[0].type = Spec.phdr
    builder.programHeaders[1].memorySize = 0
    builder.programHeaders[1].fileSize = 0
    expectError(builder, .noLoadableSegments, "no PT_LOAD segment with bytes in memory")
    var bytes = ImageBuilder.realistic().build()
    patch16(&bytes, at: 56, 0)
    expectError(bytes, .noLoadableSegments, "no PT_LOAD segment with bytes in memory")
  }

  @Test func relroOutsideAWritableSegment() {
    expectError(
      changing(header: 3) { $0.address = 0x100 },
      .relroOutsideSegment(address: 0x100, size: 0x110),
      "PT_GNU_RELRO at 0x100 (0x110 bytes) is not inside one writable PT_LOAD segment")
    expectError(
      changing(header: 3) { $0.memorySize = 0x401 },
      .relroOutsideSegment(address: 0x2000, size: 0x401),
      "PT_GNU_RELRO at 0x2000 (0x401 bytes) is not inside one writable PT_LOAD segment")
    expectError(
      changing(header: 3) { $0.address = 0x1800 },
      .relroOutsideSegment(address: 0x1800, size: 0x110),
      "PT_GNU_RELRO at 0x1800 (0x110 bytes) is not inside one writable PT_LOAD segment")
    expectError(
      changing(header: 3) {
        $0.address = .max
        $0.memorySize = 2
      },
      .relroOutsideSegment(address: .max, size: 2),
      "PT_GNU_RELRO at 0xffffffffffffffff (0x2 bytes) is not inside one writable PT_LOAD "
        + "segment")
  }

  @Test func noDynamicSegment() {
    expectError(
      changing(header: 2) { $0.type = Spec.stack }, .noDynamicSegment,
      "no PT_DYNAMIC program header: a domain is a shared object with a dynamic section")
  }

  @Test func dynamicOutsideTheFile() {
    expectError(
      changing(header: 2) { $0.offset = 0x1180 },
      .dynamicOutsideFile(offset: 0x1180, size: 0xe0, fileSize: 0x1200),
      "PT_DYNAMIC at file offset 0x1180 (0xe0 bytes) runs past the end of the 0x1200-byte "
        + "file")
  }

  @Test func dynamicOutsideTheSegments() {
    expectError(
      changing(header: 2) { $0.address = 0x1800 },
      .dynamicOutsideSegments(address: 0x1800, size: 0xe0),
      "PT_DYNAMIC at 0x1800 (0xe0 bytes) is not inside the file bytes of one PT_LOAD segment")
    // In the data segment, but running from its file bytes into .bss.
    expectError(
      changing(header: 2) { $0.address = 0x2180 },
      .dynamicOutsideSegments(address: 0x2180, size: 0xe0),
      "PT_DYNAMIC at 0x2180 (0xe0 bytes) is not inside the file bytes of one PT_LOAD segment")
  }
}
