/// Malformed images never crash the loader: thousands of random corruptions of the
/// realistic image, each either refused with an error or validated, loaded and relocated.
import ELF
import Testing

/// A xorshift64 generator: the same seed gives the same run, so failures reproduce.
struct XorShift {
  private var state: UInt64

  init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

  mutating func next() -> UInt64 {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return state
  }

  /// A number in 0..<bound.
  mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// Parts of the realistic image where a corruption changes what the loader reads: the
/// headers, the tables and the dynamic section. Code and data bytes are mostly inert.
let structuralRanges: [Range<Int>] = [
  0..<0x120,  // ELF header and program headers
  Int(Layout.symbolTable)..<Int(Layout.symbolTable) + 5 * 24,
  Int(Layout.hash)..<Int(Layout.hash) + 32,
  Int(Layout.stringTable)..<Int(Layout.stringTable) + 64,
  Int(Layout.rela)..<Int(Layout.rela) + 6 * 24,
  Int(Layout.jumpRelocations)..<Int(Layout.jumpRelocations) + 24,
  Int(Layout.dataFileOffset)..<Int(Layout.dataFileOffset) + 14 * 16,
]

/// Values that sit on the boundaries the loader checks.
let edgeValues: [UInt64] = [
  0, 1, 7, 8, 24, 0x38, 0x1000, 0x1fff, 0x2000, 0x3000, 0x400_0000, 0x7FFF_FFFF,
  0xFFFF_FFFF, 1 << 63, .max - 7, .max,
]

@Suite struct RobustnessTests {
  /// Spans larger than this are validated but not loaded, to keep the test's memory small.
  static let largestLoadedSpan = 1 << 20

  @Test(arguments: [0x5EED_0E1F, 0xD0_3A1F] as [UInt64])
  func corruptedImagesNeverCrash(seed: UInt64) throws {
    let valid = ImageBuilder.realistic().build()
    var random = XorShift(seed: seed)
    var refused = 0
    var loaded = 0

    for _ in 0..<3000 {
      var bytes = valid
      for _ in 0..<1 + random.next(below: 4) {
        corrupt(&bytes, &random)
      }
      guard let outcome = try exercise(bytes, &random) else {
        refused += 1
        continue
      }
      if outcome { loaded += 1 }
    }
    // Both paths must have run for the test to mean anything.
    #expect(refused > 100)
    #expect(loaded > 100)
  }

  /// One random change: a byte, a field set to an edge value, or a truncation.
  private func corrupt(_ bytes: inout [UInt8], _ random: inout XorShift) {
    let structural = structuralRanges[random.next(below: structuralRanges.count)]
    let offset =
      random.next(below: 8) == 0
      ? random.next(below: bytes.count)
      : structural.lowerBound + random.next(below: structural.count)
    switch random.next(below: 10) {
    case 0:
      bytes.removeLast(random.next(below: bytes.count + 1))
    case 1, 2, 3:
      guard offset < bytes.count else { return }
      bytes[offset] ^= UInt8(1 << random.next(below: 8))
    case 4, 5:
      guard offset < bytes.count else { return }
      bytes[offset] = UInt8(truncatingIfNeeded: random.next())
    default:
      // An aligned field, as the structures have them.
      let size = [2, 4, 8][random.next(below: 3)]
      let start = offset & ~(size - 1)
      guard start + size <= bytes.count else { return }
      let value =
        random.next(below: 2) == 0
        ? edgeValues[random.next(below: edgeValues.count)] : random.next()
      patch(&bytes, at: start, size: size, value)
    }
  }

  /// Validates `bytes`; if they pass, loads and relocates them (when the span is small
  /// enough) and checks that load left no byte outside the span touched. Returns nil if
  /// validation refused the image, else whether it was loaded.
  private func exercise(_ bytes: [UInt8], _ random: inout XorShift) throws -> Bool? {
    try bytes.withUnsafeBytes { raw throws -> Bool? in
      let image: ELFImage
      do throws(ELFError) {
        image = try ELFImage(bytes: raw)
      } catch {
        #expect(!error.message.isEmpty)
        return nil
      }
      // Everything an image offers must be safe to ask for.
      _ = image.imports
      _ = image.exports
      _ = image.symbolOffset("swiftlet_export_Demo")
      #expect(image.span > 0 && image.span <= ELFImage.maximumSpan)
      guard image.span <= Self.largestLoadedSpan else { return false }

      let guardBytes = 64
      return try withMemory(image.span + guardBytes, fill: 0xA5) { memory in
        let destination = UnsafeMutableRawBufferPointer(rebasing: memory[0..<image.span])
        try image.load(into: destination)
        let knowsImports = random.next(below: 4) != 0
        let resolver = TestResolver(known: knowsImports ? ["posix_memalign": 0x1234] : [:])
        do throws(ELFError) {
          let applied = try image.relocate(destination, base: random.next(), resolver: resolver)
          #expect(applied == image.relocationCount)
        } catch {
          // Validation checked everything else; only imports can fail here.
          guard case .unresolvedImport = error else {
            Issue.record("relocate threw \(error.message)")
            return true
          }
        }
        #expect(memory[image.span...].allSatisfy { $0 == 0xA5 })
        return true
      }
    }
  }
}
