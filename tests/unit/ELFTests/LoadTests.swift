/// Validating, loading and relocating a realistic image, and the variations real images
/// show: weak imports, absolute symbols, no relocations, segments out of order.
import ELF
import Testing

@Suite struct LoadTests {
  @Test func validatesTheRealisticImage() throws {
    try withImage(ImageBuilder.realistic().build()) { image in
      #expect(
        image.segments == [
          LoadSegment(
            virtualAddress: 0, memorySize: 0x1000, fileOffset: 0, fileSize: 0x1000,
            readable: true, writable: false, executable: true),
          LoadSegment(
            virtualAddress: 0x2000, memorySize: 0x400, fileOffset: 0x1000, fileSize: 0x200,
            readable: true, writable: true, executable: false),
        ])
      #expect(image.span == 0x3000)
      #expect(image.readOnlyAfterRelocation == 0x2000..<0x2110)
      #expect(image.relocationCount == 7)
      #expect(image.imports == ["posix_memalign"])
      #expect(
        image.exports == [
          ExportedSymbol(name: "swiftlet_export_Demo", offset: 0xc00),
          ExportedSymbol(name: "counter", offset: 0x2120),
        ])
    }
  }

  @Test func findsExportsByExactName() throws {
    try withImage(ImageBuilder.realistic().build()) { image in
      #expect(image.symbolOffset("swiftlet_export_Demo") == 0xc00)
      #expect(image.symbolOffset("counter") == 0x2120)  // weak definitions count
      #expect(image.symbolOffset("posix_memalign") == nil)  // an import, not an export
      #expect(image.symbolOffset("local_helper") == nil)  // local
      #expect(image.symbolOffset("swiftlet_export_Dem") == nil)
      #expect(image.symbolOffset("swiftlet_export_Demo2") == nil)
      #expect(image.symbolOffset("") == nil)
      #expect(image.symbolOffset("counter\u{0}") == nil)
    }
  }

  @Test func loadCopiesFileBytesAndZeroesTheRest() throws {
    let bytes = ImageBuilder.realistic().build()
    try withImage(bytes) { image in
      try withMemory(image.span + 0x100, fill: 0xEE) { memory in
        try image.load(into: memory)
        #expect(Array(memory[0..<0x1000]) == Array(bytes[0..<0x1000]))  // text
        #expect(memory[0x1000..<0x2000].allSatisfy { $0 == 0 })  // gap
        #expect(Array(memory[0x2000..<0x2200]) == Array(bytes[0x1000..<0x1200]))  // data
        #expect(memory[0x2200..<0x3000].allSatisfy { $0 == 0 })  // .bss and the page's end
        #expect(memory[0x3000..<0x3100].allSatisfy { $0 == 0xEE })  // past the span
      }
    }
  }

  @Test func relocateWritesEachValueAtItsTarget() throws {
    let base = ImageBuilder.base
    let memalign = ImageBuilder.posixMemalign
    try withImage(ImageBuilder.realistic().build()) { image in
      try withMemory(image.span) { memory in
        try image.load(into: memory)
        let loaded = Array(memory)
        #expect(try image.relocate(memory, base: base, resolver: TestResolver()) == 7)

        let expected: [UInt64: UInt64] = [
          0x2100: memalign,  // GLOB_DAT, import
          0x2108: base + 0x2120,  // GLOB_DAT, the image's own symbol
          0x2110: memalign,  // JUMP_SLOT
          0x2120: base + 0xc00,  // RELATIVE
          0x2128: base + 0x2200,  // RELATIVE into .bss
          0x2130: base + 0x2120 + 8,  // R_X86_64_64, the image's own symbol
          0x2138: memalign + 0x10,  // R_X86_64_64, import
        ]
        for (offset, value) in expected {
          #expect(read64(memory, at: offset) == value, "at \(offset)")
        }
        // Nothing else changed.
        var changed: [Int] = []
        for index in 0..<memory.count where memory[index] != loaded[index] {
          changed.append(index & ~7)
        }
        #expect(Set(changed) == Set(expected.keys.map { Int($0) }))
      }
    }
  }

  @Test func relocatingTwiceGivesTheSameImage() throws {
    try withImage(ImageBuilder.realistic().build()) { image in
      try withMemory(image.span) { memory in
        try image.load(into: memory)
        _ = try image.relocate(memory, base: ImageBuilder.base, resolver: TestResolver())
        let once = Array(memory)
        _ = try image.relocate(memory, base: ImageBuilder.base, resolver: TestResolver())
        #expect(Array(memory) == once)
      }
    }
  }

  @Test func unknownImportFailsBeforeAnythingIsWritten() throws {
    try withImage(ImageBuilder.realistic().build()) { image in
      try withMemory(image.span) { memory in
        try image.load(into: memory)
        let loaded = Array(memory)
        let error = relocationError(image, memory, resolver: TestResolver(known: [:]))
        #expect(error == .unresolvedImport("posix_memalign"))
        #expect(
          error?.message == "unknown import 'posix_memalign': not in the kernel's system interface")
        #expect(Array(memory) == loaded)
      }
    }
  }

  @Test func anUnusedImportMustStillResolve() throws {
    var builder = ImageBuilder.realistic()
    builder.symbols.append(SymbolSpec(name: "swiftlet_reboot", binding: Spec.global, section: 0))
    try withImage(builder.build()) { image in
      #expect(image.imports == ["posix_memalign", "swiftlet_reboot"])
      try withMemory(image.span) { memory in
        try image.load(into: memory)
        #expect(throws: ELFError.unresolvedImport("swiftlet_reboot")) {
          try image.relocate(memory, base: ImageBuilder.base, resolver: TestResolver())
        }
      }
    }
  }

  @Test func weakImportsTheKernelLacksBecomeZero() throws {
    var builder = ImageBuilder.realistic()
    builder.symbols.append(SymbolSpec(name: "optional_hook", binding: Spec.weak, section: 0))
    builder.symbols.append(SymbolSpec(name: "present_hook", binding: Spec.weak, section: 0))
    builder.relocations.append(RelocationSpec(offset: 0x2140, type: Spec.globDat, symbol: 5))
    builder.relocations.append(
      RelocationSpec(offset: 0x2148, type: Spec.r64, symbol: 5, addend: 0x20))
    builder.relocations.append(RelocationSpec(offset: 0x2150, type: Spec.globDat, symbol: 6))
    var resolver = TestResolver()
    resolver.known["present_hook"] = 0xFFFF_8000_0000_7000
    try withImage(builder.build()) { image in
      try withMemory(image.span) { memory in
        try image.load(into: memory)
        #expect(try image.relocate(memory, base: ImageBuilder.base, resolver: resolver) == 10)
        #expect(read64(memory, at: 0x2140) == 0)
        #expect(read64(memory, at: 0x2148) == 0x20)
        #expect(read64(memory, at: 0x2150) == 0xFFFF_8000_0000_7000)
      }
    }
  }

  @Test func absoluteSymbolsAndNegativeAddends() throws {
    var builder = ImageBuilder.realistic()
    builder.symbols.append(
      SymbolSpec(name: "abs_value", binding: Spec.global, section: Spec.absolute, value: 0x1234))
    builder.relocations = [
      RelocationSpec(offset: 0x2140, type: Spec.r64, symbol: 5, addend: 1),
      RelocationSpec(offset: 0x2148, type: Spec.relative, addend: -8),
      RelocationSpec(offset: 0x2150, type: Spec.r64, symbol: 1, addend: -0xc00),
      RelocationSpec(offset: 0x2158, type: Spec.r64, symbol: 0, addend: 0x77),  // null symbol
    ]
    try withImage(builder.build()) { image in
      #expect(image.symbolOffset("abs_value") == nil)  // not an offset from the base
      try withMemory(image.span) { memory in
        try image.load(into: memory)
        #expect(try image.relocate(memory, base: 0x1000, resolver: TestResolver()) == 5)
        #expect(read64(memory, at: 0x2140) == 0x1235)
        #expect(read64(memory, at: 0x2148) == 0x1000 - 8)
        #expect(read64(memory, at: 0x2150) == 0x1000)
        #expect(read64(memory, at: 0x2158) == 0x77)
      }
      // Addresses wrap rather than trap.
      try withMemory(image.span) { memory in
        try image.load(into: memory)
        _ = try image.relocate(memory, base: 4, resolver: TestResolver())
        #expect(read64(memory, at: 0x2148) == UInt64.max - 3)
      }
    }
  }

  @Test func anImageWithoutRelocations() throws {
    var builder = ImageBuilder.realistic()
    builder.relocations = []
    builder.jumpRelocations = []
    try withImage(builder.build()) { image in
      #expect(image.relocationCount == 0)
      try withMemory(image.span) { memory in
        try image.load(into: memory)
        #expect(try image.relocate(memory, base: ImageBuilder.base, resolver: TestResolver()) == 0)
      }
    }
  }

  @Test func segmentsAreSortedAndEmptyOnesDropped() throws {
    var builder = ImageBuilder.realistic()
    builder.programHeaders.swapAt(0, 1)
    builder.programHeaders.append(
      ProgramHeaderSpec(
        type: Spec.load, flags: Spec.readable, offset: 0, address: 0x1000, fileSize: 0,
        memorySize: 0, alignment: 0x1000))
    builder.programHeaders.append(
      ProgramHeaderSpec(
        type: Spec.stack, flags: Spec.readable | Spec.writable, offset: 0, address: 0,
        fileSize: 0, memorySize: 0, alignment: 0))
    try withImage(builder.build()) { image in
      #expect(image.segments.map(\.virtualAddress) == [0, 0x2000])
      #expect(image.span == 0x3000)
    }
  }

  @Test func withoutRelroThereIsNothingToProtect() throws {
    var builder = ImageBuilder.realistic()
    builder.programHeaders.removeLast()
    try withImage(builder.build()) { image in
      #expect(image.readOnlyAfterRelocation == nil)
    }
  }

  @Test func destinationMustHoldTheSpan() throws {
    try withImage(ImageBuilder.realistic().build()) { image in
      withMemory(image.span - 1) { memory in
        let expected = ELFError.destinationTooSmall(size: 0x2fff, span: 0x3000)
        #expect(throws: expected) { try image.load(into: memory) }
        #expect(throws: expected) {
          try image.relocate(memory, base: ImageBuilder.base, resolver: TestResolver())
        }
        #expect(
          expected.message == "destination of 0x2fff bytes is smaller than the image's "
            + "0x3000-byte span")
        #expect(memory.allSatisfy { $0 == 0xEE })
      }
    }
  }

  @Test func segmentPages() {
    let segment = LoadSegment(
      virtualAddress: 0x1f90, memorySize: 0xb80, fileOffset: 0xf90, fileSize: 0xb80,
      readable: true, writable: false, executable: true)
    #expect(segment.end == 0x2b10)
    #expect(segment.pages == 0x1000..<0x3000)
    let wrapping = LoadSegment(
      virtualAddress: .max - 10, memorySize: 100, fileOffset: 0, fileSize: 0, readable: true,
      writable: false, executable: false)
    #expect(wrapping.end == .max)
    #expect(wrapping.pages == (UInt64.max - 10) / 4096 * 4096..<UInt64.max)
  }
}
