/// A fake PCI fabric for the host tests: configuration spaces as byte arrays, with BARs
/// that answer the all-ones sizing write the way hardware does.
@testable import PCI

final class FakeFunction {
  var bytes = [UInt8](repeating: 0, count: 256)
  /// Per BAR register offset: the bits a write can change (the decoded address bits).
  var writableBits: [Int: UInt32] = [:]
  /// The command register's value whenever a BAR register was written.
  var commandDuringBARWrites: [UInt16] = []
  private var nextCapability = 0x40
  private var lastCapabilityLink: Int?

  init(
    vendor: UInt16 = 0x1AF4, device: UInt16 = 0x1001, classCode: UInt8 = 0x01,
    subclass: UInt8 = 0x00, headerType: UInt8 = 0
  ) {
    set16(0x00, vendor)
    set16(0x02, device)
    bytes[0x0B] = classCode
    bytes[0x0A] = subclass
    bytes[0x0E] = headerType
  }

  func get8(_ offset: Int) -> UInt8 { bytes[offset] }
  func get16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8 }
  func get32(_ offset: Int) -> UInt32 { UInt32(get16(offset)) | UInt32(get16(offset + 2)) << 16 }
  func set8(_ offset: Int, _ value: UInt8) { bytes[offset] = value }
  func set16(_ offset: Int, _ value: UInt16) {
    bytes[offset] = UInt8(value & 0xFF)
    bytes[offset + 1] = UInt8(value >> 8)
  }
  func set32(_ offset: Int, _ value: UInt32) {
    set16(offset, UInt16(value & 0xFFFF))
    set16(offset + 2, UInt16(value >> 16))
  }

  /// A BAR as hardware implements it: hardwired type bits, `size` bytes decoded.
  @discardableResult
  func bar(
    _ index: Int, _ kind: BARKind, size: UInt64, base: UInt64 = 0, prefetchable: Bool = false,
    ioDecodes32Bits: Bool = false
  ) -> FakeFunction {
    let offset = 0x10 + 4 * index
    switch kind {
    case .io:
      set32(offset, UInt32(base) | 1)
      let width: UInt32 = ioDecodes32Bits ? 0xFFFF_FFFF : 0xFFFF
      writableBits[offset] = width & ~UInt32(size - 1) & ~0x3
    case .memory32:
      set32(offset, UInt32(base) | (prefetchable ? 0x8 : 0))
      writableBits[offset] = ~UInt32(size - 1) & ~0xF
    case .memory64:
      set32(offset, UInt32(truncatingIfNeeded: base) | 0x4 | (prefetchable ? 0x8 : 0))
      set32(offset + 4, UInt32(base >> 32))
      let mask = ~(size - 1)
      writableBits[offset] = UInt32(truncatingIfNeeded: mask) & ~0xF
      writableBits[offset + 4] = UInt32(mask >> 32)
    }
    return self
  }

  /// Appends a capability with `id` and `body` (the bytes after ID and next pointer),
  /// linking it into the list and setting the status bit.
  @discardableResult
  func capability(_ id: UInt8, body: [UInt8] = [0, 0]) -> Int {
    let offset = nextCapability
    bytes[offset] = id
    bytes[offset + 1] = 0
    for (index, byte) in body.enumerated() { bytes[offset + 2 + index] = byte }
    if let link = lastCapabilityLink {
      bytes[link] = UInt8(offset)
    } else {
      bytes[0x34] = UInt8(offset)
    }
    lastCapabilityLink = offset + 1
    nextCapability = (offset + 2 + body.count + 3) & ~3
    set16(0x06, get16(0x06) | 0x10)
    return offset
  }

  /// An MSI-X capability with `size` entries, the table and pending bits in BARs.
  @discardableResult
  func msix(size: Int, tableBAR: Int, tableOffset: UInt32, pendingBAR: Int, pendingOffset: UInt32)
    -> Int
  {
    let control = UInt16(size - 1)
    let table = tableOffset | UInt32(tableBAR)
    let pending = pendingOffset | UInt32(pendingBAR)
    return capability(
      0x11, body: [UInt8(control & 0xFF), UInt8(control >> 8)] + le32(table) + le32(pending))
  }

  func write(_ offset: Int, width: Int, _ value: UInt32) {
    let register = offset & ~3
    if let writable = writableBits[register] {
      precondition(width == 4, "the fake sizes BARs through 32-bit writes only")
      set32(register, (value & writable) | (get32(register) & ~writable))
      commandDuringBARWrites.append(get16(0x04))
      return
    }
    let barEnd = bytes[0x0E] & 0x7F == 0 ? 0x28 : 0x18
    if (0x10..<barEnd).contains(register) { return }  // no BAR: reads 0 whatever is written
    for index in 0..<width { bytes[offset + index] = UInt8((value >> (8 * UInt32(index))) & 0xFF) }
  }
}

func le32(_ value: UInt32) -> [UInt8] {
  [
    UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF),
    UInt8(value >> 24),
  ]
}

final class FakeBus: ConfigurationAccess {
  var functions: [PCIAddress: FakeFunction] = [:]
  private(set) var reads = 0

  subscript(bus: UInt8, device: UInt8, function: UInt8) -> FakeFunction? {
    get { functions[PCIAddress(bus: bus, device: device, function: function)] }
    set { functions[PCIAddress(bus: bus, device: device, function: function)] = newValue }
  }

  func read8(_ address: PCIAddress, _ offset: Int) -> UInt8 {
    check(offset, 1)
    return functions[address]?.get8(offset) ?? 0xFF
  }
  func read16(_ address: PCIAddress, _ offset: Int) -> UInt16 {
    check(offset, 2)
    return functions[address]?.get16(offset) ?? 0xFFFF
  }
  func read32(_ address: PCIAddress, _ offset: Int) -> UInt32 {
    check(offset, 4)
    return functions[address]?.get32(offset) ?? 0xFFFF_FFFF
  }
  func write8(_ address: PCIAddress, _ offset: Int, _ value: UInt8) {
    check(offset, 1)
    functions[address]?.write(offset, width: 1, UInt32(value))
  }
  func write16(_ address: PCIAddress, _ offset: Int, _ value: UInt16) {
    check(offset, 2)
    functions[address]?.write(offset, width: 2, UInt32(value))
  }
  func write32(_ address: PCIAddress, _ offset: Int, _ value: UInt32) {
    check(offset, 4)
    functions[address]?.write(offset, width: 4, value)
  }

  /// Mechanism #1 cannot do anything else; the module must never ask.
  private func check(_ offset: Int, _ width: Int) {
    reads += 1
    precondition(
      ConfigurationSpace<FakeBus>.isValidAccess(offset: offset, width: width),
      "configuration access of \(width) bytes at \(offset)")
  }

  func space(_ bus: UInt8, _ device: UInt8, _ function: UInt8) -> ConfigurationSpace<FakeBus> {
    ConfigurationSpace(self, PCIAddress(bus: bus, device: device, function: function))
  }
}

let origin = PCIAddress(bus: 0, device: 4, function: 0)

/// A fake with one function at 00:04.0.
func singleFunction(_ function: FakeFunction) -> (FakeBus, ConfigurationSpace<FakeBus>) {
  let bus = FakeBus()
  bus.functions[origin] = function
  return (bus, ConfigurationSpace(bus, origin))
}

/// The header, which a test knows is there.
func header(_ space: ConfigurationSpace<FakeBus>) -> ConfigurationHeader {
  ConfigurationHeader.read(from: space)!
}
