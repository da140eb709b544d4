/// What the ELF fuzz target does with one input, and what the unit tests do with each kept
/// input: the input is a domain image, which goes through the loader as the kernel takes
/// it (validate, load, relocate), checking after each step what must hold. Shared by the
/// libFuzzer target (tests/fuzz, `make fuzz`) and `ELFFuzzReplayTests`; nothing here may
/// import Testing, which the fuzzer is built without.
import ELF

#if canImport(Glibc)
  import Glibc
#endif

enum ELFFuzzing {
  /// Images whose span is larger are validated but not loaded: a span of up to 64 MiB
  /// costs nothing to claim and a great deal to zero, once per input.
  static let largestLoadedSpan = 1 << 20
  static let base: UInt64 = 0xFFFF_8000_4000_0000

  /// A system interface that exports most names: each import is unknown when its bytes
  /// add up to a multiple of 5, so that mutating any byte of a name can flip it.
  struct Resolver: SymbolResolver {
    func address(of name: String) -> UInt64? {
      let sum = name.utf8.reduce(0) { $0 + Int($1) }
      return sum % 5 == 0 ? nil : 0xFFFF_8000_0010_0000 + UInt64(sum) * 16
    }
  }

  /// Runs one input; traps if the loader breaks a rule. Returns whether the image was
  /// valid.
  @discardableResult
  static func run(_ data: [UInt8]) -> Bool {
    // An exact-sized copy, as the kernel has the module: the address sanitizer then
    // catches a read one byte past the end, which an array's spare capacity would hide.
    let file = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count, alignment: 8)
    defer { file.deallocate() }
    file.copyBytes(from: data)
    let image: ELFImage
    do throws(ELFError) {
      image = try ELFImage(bytes: UnsafeRawBufferPointer(file))
    } catch {
      precondition(!error.message.isEmpty, "every refusal says why")
      return false
    }
    checkLayout(image)
    // The first few: each is looked up by a walk of the table.
    for export in image.exports.prefix(8) {
      precondition(export.offset <= UInt64(image.span), "an export lies inside the span")
      // A name that is not UTF-8 comes out repaired, and is found by its bytes only.
      guard !export.name.unicodeScalars.contains("\u{FFFD}") else { continue }
      precondition(image.symbolOffset(export.name) != nil, "an export is found by its name")
    }
    _ = image.imports
    guard image.span <= largestLoadedSpan else { return true }
    load(image, from: UnsafeRawBufferPointer(file))
    return true
  }

  /// The segments are what the kernel maps page by page: sorted, inside the span, no two
  /// sharing a page, none writable and executable; relro inside one writable segment.
  private static func checkLayout(_ image: ELFImage) {
    let page = Int(ELFImage.pageSize)
    precondition(image.span > 0 && image.span <= ELFImage.maximumSpan && image.span % page == 0)
    var previousEnd: UInt64 = 0
    for (index, segment) in image.segments.enumerated() {
      precondition(segment.memorySize > 0 && segment.fileSize <= segment.memorySize)
      precondition(!(segment.writable && segment.executable), "W^X")
      precondition(segment.end <= UInt64(image.span), "a segment inside the span")
      if index > 0 {
        precondition(segment.pages.lowerBound >= previousEnd, "segments share no page")
      }
      previousEnd = segment.pages.upperBound
    }
    if let relro = image.readOnlyAfterRelocation {
      precondition(
        image.segments.contains {
          $0.writable && $0.virtualAddress <= relro.lowerBound && relro.upperBound <= $0.end
        }, "relro inside one writable segment")
    }
  }

  /// Loads and relocates into memory of exactly the span, checking that load copies each
  /// segment's file bytes and zeroes the rest, and that relocation writes only inside
  /// writable segments.
  private static func load(_ image: ELFImage, from file: UnsafeRawBufferPointer) {
    let span = image.span
    let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: span, alignment: page)
    defer { memory.deallocate() }
    memory.initializeMemory(as: UInt8.self, repeating: 0xA5)
    do throws(ELFError) {
      try image.load(into: UnsafeMutableRawBufferPointer(rebasing: memory[0..<span - 1]))
      preconditionFailure("load into memory shorter than the span")
    } catch {
      precondition(error == .destinationTooSmall(size: span - 1, span: span))
    }
    do throws(ELFError) {
      try image.load(into: memory)
    } catch {
      preconditionFailure("load failed after validation: \(error.message)")
    }
    let expected = UnsafeMutableRawBufferPointer.allocate(byteCount: span, alignment: page)
    defer { expected.deallocate() }
    expected.initializeMemory(as: UInt8.self, repeating: 0)
    for segment in image.segments {
      let start = Int(segment.virtualAddress)
      let bytes = file[Int(segment.fileOffset)..<Int(segment.fileOffset + segment.fileSize)]
      UnsafeMutableRawBufferPointer(rebasing: expected[start..<start + bytes.count])
        .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes))
    }
    precondition(same(memory, expected, 0..<span), "load copies the file bytes and zeroes the rest")

    do throws(ELFError) {
      let applied = try image.relocate(memory, base: base, resolver: Resolver())
      precondition(applied == image.relocationCount)
    } catch {
      guard case .unresolvedImport = error else {
        preconditionFailure("relocate failed after validation: \(error.message)")
      }
      precondition(same(memory, expected, 0..<span), "a refused relocation writes nothing")
      return
    }
    // Between the writable segments, nothing changed.
    var unchanged = 0
    for segment in image.segments where segment.writable {
      let start = Int(segment.virtualAddress)
      precondition(
        same(memory, expected, unchanged..<start), "relocation writes only writable segments")
      unchanged = Int(segment.end)
    }
    precondition(
      same(memory, expected, unchanged..<span), "relocation writes only writable segments")
  }

  /// Whether `first` and `second` hold the same bytes in `range` (compared by memcmp: a
  /// loop here would be instrumented byte by byte, and slow the fuzzer down).
  private static func same(
    _ first: UnsafeMutableRawBufferPointer, _ second: UnsafeMutableRawBufferPointer,
    _ range: Range<Int>
  ) -> Bool {
    range.isEmpty
      || memcmp(
        first.baseAddress! + range.lowerBound, second.baseAddress! + range.lowerBound, range.count)
        == 0
  }

  private static let page = Int(ELFImage.pageSize)
}
