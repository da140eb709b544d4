/// Base address registers: where a function's registers and memory appear, and how big.
///
/// A BAR's low bits say what it is: bit 0 set, an I/O port range; clear, a memory range
/// whose bits 2:1 say 32-bit (0b00) or 64-bit (0b10, the next register holds the upper
/// half) and bit 3 prefetchable. The size is not stored anywhere: writing all ones and
/// reading back leaves the address bits the function decodes, so the size is the lowest
/// bit that reads back set. Sizing writes the BAR, so decoding is switched off while it
/// runs and the original values go back afterwards.

public enum BARKind: Equatable, Sendable {
  case io
  case memory32
  case memory64

  public var isMemory: Bool { self != .io }

  /// "io", "mem32", "mem64": as the log prints it.
  public var name: String {
    switch self {
    case .io: "io"
    case .memory32: "mem32"
    case .memory64: "mem64"
    }
  }
}

public struct BaseAddressRegister: Equatable, Sendable {
  /// Which register: 0-5 (a 64-bit BAR has the lower of its two).
  public var index: Int
  public var kind: BARKind
  public var prefetchable: Bool
  /// The bus address; 0 if nobody has assigned one yet.
  public var base: UInt64
  /// In bytes, a power of two.
  public var size: UInt64

  public init(index: Int, kind: BARKind, prefetchable: Bool = false, base: UInt64, size: UInt64) {
    self.index = index
    self.kind = kind
    self.prefetchable = prefetchable
    self.base = base
    self.size = size
  }

  public var isAssigned: Bool { base != 0 }
  public var range: Range<UInt64> { base..<(base + size) }
  /// The configuration offset of its (lower) register.
  public var registerOffset: Int { ConfigurationRegister.firstBAR + 4 * index }

  /// "BAR1 mem32 0xfebf1000 size 0x1000", with "prefetchable" when it is.
  public var description: String {
    "BAR\(index) \(kind.name)\(prefetchable ? " prefetchable" : "") \(hex(base)) size \(hex(size))"
  }

  /// Decodes a BAR from its original value and what it read back after all ones were
  /// written (for 64-bit BARs, the upper register's two values too). Nil if the BAR is
  /// not implemented (it reads back zero).
  public static func decode(
    index: Int, at address: PCIAddress, original: UInt32, readback: UInt32,
    upperOriginal: UInt32 = 0, upperReadback: UInt32 = 0
  ) throws(PCIError) -> BaseAddressRegister? {
    let kind: BARKind
    var mask: UInt64
    var base: UInt64
    var widthMask: UInt64 = 0xFFFF_FFFF
    if original & 1 != 0 {
      kind = .io
      mask = UInt64(readback & ~0x3)
      base = UInt64(original & ~0x3)
      // Many functions decode only 16 bits of I/O address and read the rest back as 0.
      if mask >> 16 == 0 { widthMask = 0xFFFF }
    } else {
      switch (original >> 1) & 0x3 {
      case 0b00, 0b01: kind = .memory32  // 0b01, "below 1 MiB", is a 32-bit register
      case 0b10: kind = .memory64
      default: throw .reservedMemoryType(address, bar: index)
      }
      mask = UInt64(readback & ~0xF)
      base = UInt64(original & ~0xF)
      if kind == .memory64 {
        mask |= UInt64(upperReadback) << 32
        base |= UInt64(upperOriginal) << 32
        widthMask = .max
      }
    }
    guard mask != 0 else { return nil }
    let size = mask & (~mask &+ 1)  // the lowest set bit
    guard mask | (size - 1) == widthMask else {
      throw .nonContiguousSizeMask(address, bar: index, readback: mask)
    }
    guard base & (size - 1) == 0 else {
      throw .misalignedBAR(address, bar: index, base: base, size: size)
    }
    // The end must be a number too: a 64-bit BAR reaching the last byte of the address
    // space would make `range` overflow.
    guard base <= widthMask - (size - 1), !base.addingReportingOverflow(size).overflow else {
      throw .barWraps(address, bar: index, base: base, size: size)
    }
    return BaseAddressRegister(
      index: index, kind: kind, prefetchable: kind.isMemory && original & 0x8 != 0, base: base,
      size: size)
  }

  /// Sizes and decodes the first `count` BARs of the function at `space`, with its I/O
  /// and memory decoding off meanwhile; every BAR and the command register get their
  /// values back, even when a BAR turns out malformed.
  public static func probeAll<A>(in space: ConfigurationSpace<A>, count: Int) throws(PCIError)
    -> [BaseAddressRegister]
  {
    let command = space.command
    space.command = command.subtracting([.ioSpace, .memorySpace])
    defer { space.command = command }
    var bars: [BaseAddressRegister] = []
    var index = 0
    while index < count {
      let offset = ConfigurationRegister.firstBAR + 4 * index
      let (original, readback) = sizeRegister(space, offset)
      let isMemory64 = original & 1 == 0 && (original >> 1) & 0x3 == 0b10
      var upper: (original: UInt32, readback: UInt32) = (0, 0)
      if isMemory64 {
        guard index + 1 < count else {
          throw .sixtyFourBitBARInLastSlot(space.address, bar: index)
        }
        upper = sizeRegister(space, offset + 4)
      }
      if let bar = try decode(
        index: index, at: space.address, original: original, readback: readback,
        upperOriginal: upper.original, upperReadback: upper.readback)
      {
        bars.append(bar)
      }
      index += isMemory64 ? 2 : 1
    }
    return bars
  }

  /// Writes all ones to the register at `offset`, reads back, restores.
  private static func sizeRegister<A>(_ space: ConfigurationSpace<A>, _ offset: Int) -> (
    UInt32, UInt32
  ) {
    let original = space.read32(offset)
    space.write32(offset, 0xFFFF_FFFF)
    let readback = space.read32(offset)
    space.write32(offset, original)
    return (original, readback)
  }

  /// Points the BAR at `base` (aligned to its size), upper half included.
  public func assign<A>(_ base: UInt64, in space: ConfigurationSpace<A>) -> BaseAddressRegister {
    let flags = space.read32(registerOffset) & (kind == .io ? 0x3 : 0xF)
    space.write32(registerOffset, UInt32(truncatingIfNeeded: base) | flags)
    if kind == .memory64 {
      space.write32(registerOffset + 4, UInt32(truncatingIfNeeded: base >> 32))
    }
    var assigned = self
    assigned.base = base
    return assigned
  }
}
