// A domain's image: an ELF64 shared object, checked once, then loaded and relocated each
// time the domain is created from it.
//
// Loading has three steps. `ELFImage(bytes:)` validates everything it will later rely on:
// the header, the PT_LOAD segments and the span they need, the dynamic section, the
// symbol and string tables, and every relocation's type, symbol and target. `load`
// copies each segment's file bytes to their offsets in the caller's memory and zeroes the
// rest. `relocate` binds each import through the kernel's resolver, then patches every
// relocation target for the base the image will run at. The image's bytes are only read,
// never changed, so a crashed domain can be re-created from the same pristine image.
//
// Every read of the image is bounds-checked, every loop runs over a checked count, and
// arithmetic on values from the file cannot overflow, so a malformed image is an
// `ELFError` naming the problem, never a crash or a hang.

/// A validated ELF64 shared object for x86-64. It reads from the bytes it was made from,
/// which must stay valid and unchanged for as long as it is used.
public struct ELFImage {
  /// The kernel maps images in pages of this many bytes.
  public static let pageSize: UInt64 = 4096
  /// The largest span an image may have: 64 MiB.
  public static let maximumSpan = 64 << 20

  private let file: ByteView
  private let plan: LoadPlan
  private let symbols: SymbolTable
  private let relocationTables: [RelocationEntries]

  /// Validates the image in `bytes`.
  ///
  /// Throws `ELFError` if the image is not a little-endian ELF64 x86-64 shared object, if
  /// its segments cannot be laid out safely (out of the file, overlapping or sharing a
  /// page, misaligned, writable and executable, past `maximumSpan`), if its dynamic
  /// section or the tables it points at are missing, malformed or outside the loaded
  /// bytes, or if a relocation has an unknown type, a symbol outside the symbol table, or a
  /// target outside the writable segments. The error's `message` names the problem.
  public init(bytes: UnsafeRawBufferPointer) throws(ELFError) {
    let file = ByteView(buffer: bytes)
    let header = try ELFHeader(file)
    let plan = try LoadPlan(file, header: header)
    let dynamic = try DynamicInfo(file, plan: plan)
    let symbols = try SymbolTable(file, plan: plan, dynamic: dynamic)
    var tables: [RelocationEntries] = []
    if let rela = dynamic.rela {
      tables.append(
        try RelocationEntries(
          .dynamic, at: rela.address, size: rela.size, in: file, plan: plan, symbols: symbols))
    }
    if let jumps = dynamic.jumpRelocations {
      tables.append(
        try RelocationEntries(
          .procedureLinkage, at: jumps.address, size: jumps.size, in: file, plan: plan,
          symbols: symbols))
    }
    self.file = file
    self.plan = plan
    self.symbols = symbols
    self.relocationTables = tables
  }

  /// The PT_LOAD segments with bytes in memory, in address order. No two overlap or share
  /// a page.
  public var segments: [LoadSegment] { plan.segments }

  /// The bytes the image needs from its base: from 0 to the end of the highest segment,
  /// rounded up to a page. At most `maximumSpan`.
  public var span: Int { plan.span }

  /// PT_GNU_RELRO, if the image has one: data the relocations write (such as the GOT)
  /// that nothing writes after them. It lies inside one writable segment; the whole pages
  /// inside it can be made read-only once `relocate` has run.
  public var readOnlyAfterRelocation: Range<UInt64>? { plan.relro }

  /// How many relocations `relocate` applies.
  public var relocationCount: Int {
    var total = 0
    for table in relocationTables { total += table.count }
    return total
  }

  /// Copies every segment to `destination`, which must hold at least `span` bytes: each
  /// segment's file bytes go to its offset from the start of `destination`, and every
  /// other byte of the span (the rest of each segment past its file bytes, and the gaps
  /// between segments) becomes zero. Bytes past the span are left alone.
  ///
  /// Throws `.destinationTooSmall` if `destination` is shorter than `span`.
  public func load(into destination: UnsafeMutableRawBufferPointer) throws(ELFError) {
    guard destination.count >= span else {
      throw .destinationTooSmall(size: destination.count, span: span)
    }
    guard span > 0 else { return }
    UnsafeMutableRawBufferPointer(rebasing: destination[0..<span])
      .initializeMemory(as: UInt8.self, repeating: 0)
    for segment in segments {
      guard
        let bytes = file.view(at: segment.fileOffset, count: segment.fileSize),
        bytes.count > 0
      else { continue }
      // Validation put every segment inside the span and its file bytes inside the file.
      let start = Int(segment.virtualAddress)
      UnsafeMutableRawBufferPointer(rebasing: destination[start..<start + bytes.count])
        .copyMemory(from: bytes.buffer)
    }
  }

  /// Applies every relocation in .rela.dyn and .rela.plt to the image `load` put in
  /// `destination`, for an image that will run at `base` (which may differ from
  /// `destination`'s own address, for example when the kernel maps the memory elsewhere).
  /// Returns how many relocations it applied.
  ///
  /// Undefined symbols are bound through `resolver`, all of them before anything is
  /// written; a weak one the resolver does not know becomes 0, as the ELF standard says.
  /// Symbols the image defines bind to its own definitions. The values written are, by
  /// psABI type: R_X86_64_RELATIVE, base + addend; R_X86_64_64, symbol + addend;
  /// R_X86_64_GLOB_DAT and R_X86_64_JUMP_SLOT, the symbol's address.
  ///
  /// Throws `.destinationTooSmall` if `destination` is shorter than `span`, and
  /// `.unresolvedImport` for the first import (in symbol table order) that is neither
  /// known to `resolver` nor weak; then `destination` is as `load` left it.
  public func relocate<R: SymbolResolver>(
    _ destination: UnsafeMutableRawBufferPointer, base: UInt64, resolver: R
  ) throws(ELFError) -> Int {
    guard destination.count >= span else {
      throw .destinationTooSmall(size: destination.count, span: span)
    }
    let addresses = try symbolAddresses(base: base, resolver: resolver)
    var applied = 0
    for table in relocationTables {
      for index in 0..<table.count {
        let relocation = table[index]
        guard let kind = Relocation.Kind(rawValue: relocation.type) else {
          preconditionFailure("relocation type not checked")
        }
        let value: UInt64
        switch kind {
        case .relative: value = base &+ relocation.addend
        case .absolute64: value = addresses[Int(relocation.symbolIndex)] &+ relocation.addend
        case .globalData, .jumpSlot: value = addresses[Int(relocation.symbolIndex)]
        }
        // Validation put every target inside a writable segment, so inside the span.
        destination.storeLittleEndian(value, at: Int(relocation.offset))
        applied += 1
      }
    }
    return applied
  }

  /// The address each symbol stands for when the image runs at `base`.
  private func symbolAddresses<R: SymbolResolver>(base: UInt64, resolver: R)
    throws(ELFError) -> [UInt64]
  {
    var addresses = [UInt64](repeating: 0, count: symbols.count)
    // Symbol 0 is the null symbol: its address stays 0.
    for index in 0..<symbols.count where index > 0 {
      let symbol = symbols[index]
      if symbol.isUndefined {
        let name = symbols.name(of: symbol)
        if let address = resolver.address(of: name) {
          addresses[index] = address
        } else if !symbol.isWeak {
          throw .unresolvedImport(name)
        }
      } else if symbol.isAbsolute {
        addresses[index] = symbol.value
      } else {
        addresses[index] = base &+ symbol.value
      }
    }
    return addresses
  }

  /// The offset from the image base of the global or weak symbol `name` the image defines,
  /// or nil if it defines none by that name.
  public func symbolOffset(_ name: String) -> UInt64? {
    for index in 0..<symbols.count {
      let symbol = symbols[index]
      if symbol.isExported && symbols.symbol(symbol, isNamed: name) { return symbol.value }
    }
    return nil
  }

  /// The names of the undefined symbols the image imports, in symbol table order.
  public var imports: [String] {
    var names: [String] = []
    for index in 0..<symbols.count where index > 0 {
      let symbol = symbols[index]
      if symbol.isUndefined { names.append(symbols.name(of: symbol)) }
    }
    return names
  }

  /// The global and weak symbols the image defines, in symbol table order.
  public var exports: [ExportedSymbol] {
    var exported: [ExportedSymbol] = []
    for index in 0..<symbols.count {
      let symbol = symbols[index]
      if symbol.isExported {
        exported.append(ExportedSymbol(name: symbols.name(of: symbol), offset: symbol.value))
      }
    }
    return exported
  }
}

/// A symbol an image defines and the kernel can find by name.
public struct ExportedSymbol: Equatable, Sendable {
  /// The symbol's name.
  public var name: String
  /// Its offset from the image base.
  public var offset: UInt64

  /// A symbol `name` at `offset`.
  public init(name: String, offset: UInt64) {
    self.name = name
    self.offset = offset
  }
}
