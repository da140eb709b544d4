/// Relocation entries: unknown types, symbols past the table, and targets the loader must
/// not write.
import ELF
import Testing

/// The realistic image with one more .rela.dyn entry (index 6) or .rela.plt entry
/// (index 1).
func adding(_ relocation: RelocationSpec, toPLT: Bool = false) -> ImageBuilder {
  var builder = ImageBuilder.realistic()
  if toPLT {
    builder.jumpRelocations.append(relocation)
  } else {
    builder.relocations.append(relocation)
  }
  return builder
}

@Suite struct RelocationTests {
  @Test func unknownTypes() {
    expectError(
      adding(RelocationSpec(offset: 0x2140, type: 37)),
      .unknownRelocationType(.dynamic, index: 6, type: 37),
      "relocation 6 in .rela.dyn: unknown relocation type 37 (the loader applies "
        + "R_X86_64_64, R_X86_64_GLOB_DAT, R_X86_64_JUMP_SLOT and R_X86_64_RELATIVE)")
    expectError(
      adding(RelocationSpec(offset: 0x2140, type: 0), toPLT: true),
      .unknownRelocationType(.procedureLinkage, index: 1, type: 0),
      "relocation 1 in .rela.plt: unknown relocation type 0 (the loader applies "
        + "R_X86_64_64, R_X86_64_GLOB_DAT, R_X86_64_JUMP_SLOT and R_X86_64_RELATIVE)")
    expectError(
      adding(RelocationSpec(offset: 0x2140, type: 2, symbol: 1)),
      .unknownRelocationType(.dynamic, index: 6, type: 2),
      "relocation 6 in .rela.dyn: unknown relocation type 2 (the loader applies "
        + "R_X86_64_64, R_X86_64_GLOB_DAT, R_X86_64_JUMP_SLOT and R_X86_64_RELATIVE)")
  }

  @Test func targetOutsideTheImage() {
    expectError(
      adding(RelocationSpec(offset: 0x2ff9, type: Spec.relative)),
      .relocationTargetOutsideImage(.dynamic, index: 6, offset: 0x2ff9, span: 0x3000),
      "relocation 6 in .rela.dyn: target 0x2ff9 (8 bytes) is outside the 0x3000-byte image")
    expectError(
      adding(RelocationSpec(offset: .max - 3, type: Spec.jumpSlot, symbol: 2), toPLT: true),
      .relocationTargetOutsideImage(.procedureLinkage, index: 1, offset: .max - 3, span: 0x3000),
      "relocation 1 in .rela.plt: target 0xfffffffffffffffc (8 bytes) is outside the "
        + "0x3000-byte image")
  }

  @Test func targetNotWritable() {
    expectError(
      adding(RelocationSpec(offset: 0xc00, type: Spec.relative)),  // text
      .relocationTargetNotWritable(.dynamic, index: 6, offset: 0xc00),
      "relocation 6 in .rela.dyn: target 0xc00 (8 bytes) is not inside a writable PT_LOAD "
        + "segment")
    expectError(
      adding(RelocationSpec(offset: 0x1800, type: Spec.relative)),  // the gap
      .relocationTargetNotWritable(.dynamic, index: 6, offset: 0x1800),
      "relocation 6 in .rela.dyn: target 0x1800 (8 bytes) is not inside a writable PT_LOAD "
        + "segment")
    expectError(
      adding(RelocationSpec(offset: 0x23fc, type: Spec.relative)),  // across the data's end
      .relocationTargetNotWritable(.dynamic, index: 6, offset: 0x23fc),
      "relocation 6 in .rela.dyn: target 0x23fc (8 bytes) is not inside a writable PT_LOAD "
        + "segment")
    expectError(
      adding(RelocationSpec(offset: 0xff8, type: Spec.relative)),  // across the text's end
      .relocationTargetNotWritable(.dynamic, index: 6, offset: 0xff8),
      "relocation 6 in .rela.dyn: target 0xff8 (8 bytes) is not inside a writable PT_LOAD "
        + "segment")
  }

  @Test func targetsMayBeUnalignedAndInBss() throws {
    var builder = ImageBuilder.realistic()
    builder.relocations = [
      RelocationSpec(offset: 0x2143, type: Spec.relative, addend: 0x10),
      RelocationSpec(offset: 0x23f8, type: Spec.relative, addend: 0x20),
    ]
    try withImage(builder.build()) { image in
      try withMemory(image.span) { memory in
        try image.load(into: memory)
        _ = try image.relocate(memory, base: 0x5000, resolver: TestResolver())
        #expect(read64(memory, at: 0x2143) == 0x5010)
        #expect(read64(memory, at: 0x23f8) == 0x5020)
      }
    }
  }

  @Test func symbolIndexOutOfRange() {
    expectError(
      adding(RelocationSpec(offset: 0x2140, type: Spec.globDat, symbol: 5)),
      .symbolIndexOutOfRange(.dynamic, index: 6, symbol: 5, count: 5),
      "relocation 6 in .rela.dyn: symbol index 5 is out of range (the dynamic symbol table "
        + "has 5 symbols)")
    expectError(
      adding(RelocationSpec(offset: 0x2140, type: Spec.jumpSlot, symbol: .max), toPLT: true),
      .symbolIndexOutOfRange(.procedureLinkage, index: 1, symbol: .max, count: 5),
      "relocation 1 in .rela.plt: symbol index 4294967295 is out of range (the dynamic symbol "
        + "table has 5 symbols)")
  }

  @Test func relativeRelocationsIgnoreTheirSymbol() throws {
    let builder = adding(RelocationSpec(offset: 0x2140, type: Spec.relative, symbol: 99, addend: 4))
    try withImage(builder.build()) { image in
      try withMemory(image.span) { memory in
        try image.load(into: memory)
        _ = try image.relocate(memory, base: 0x5000, resolver: TestResolver())
        #expect(read64(memory, at: 0x2140) == 0x5004)
      }
    }
  }
}
