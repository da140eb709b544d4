/// An 82540EM in software, as QEMU 7.2 models it, for testing the driver on the host.
///
/// It is BAR 0 itself: the driver's register window, whose loads and stores act as the
/// device's registers do (reading ICR clears it, IMS and IMC set and clear the mask,
/// EERD reads the EEPROM, a TDT write sends at once, an RDT write lets queued frames in,
/// CTRL.RST does nothing). It reads descriptors and moves frames through `BusMemory`, by
/// device address, as a real device does. Every register write is logged in order, so
/// tests can check what the driver wrote and when. Knobs make it misbehave.
import Registers

final class SimulatedE1000: MemoryWindow {
  static let registerBytes = 0x20000
  static let mac: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]

  enum Offset {
    static let control = 0x0000
    static let status = 0x0008
    static let eepromRead = 0x0014
    static let interruptCause = 0x00C0
    static let interruptThrottle = 0x00C4
    static let interruptCauseSet = 0x00C8
    static let interruptMaskSet = 0x00D0
    static let interruptMaskClear = 0x00D8
    static let receiveControl = 0x0100
    static let transmitControl = 0x0400
    static let transmitInterPacketGap = 0x0410
    static let receiveBaseLow = 0x2800
    static let receiveBaseHigh = 0x2804
    static let receiveLength = 0x2808
    static let receiveHead = 0x2810
    static let receiveTail = 0x2818
    static let transmitBaseLow = 0x3800
    static let transmitBaseHigh = 0x3804
    static let transmitLength = 0x3808
    static let transmitHead = 0x3810
    static let transmitTail = 0x3818
    static let multicastTable = 0x5200
    static let receiveAddressLow = 0x5400
    static let receiveAddressHigh = 0x5404
  }

  /// What the next receive write-back says instead of the truth.
  struct WriteBack {
    var length: UInt16?
    var status: UInt8?
    var errors: UInt8?
  }

  // MARK: Knobs

  /// The EEPROM's words; words 0-2 hold the MAC address.
  var eeprom: [UInt16] = [0x5452, 0x1200, 0x5634]
  var eepromAnswers = true
  /// False: the device keeps transmit descriptors until `completeTransmits`.
  var completesTransmitAtOnce = true
  /// Transmit status bits set with DD (collisions, underrun).
  var transmitErrorStatus: UInt8 = 0
  /// Bus mastering: without it nothing is received or sent. Turning it on lets queued
  /// frames in at once, into whatever ring the registers name (QEMU's e1000_write_config).
  var busMaster = true {
    didSet { if busMaster { flushQueued() } }
  }
  var linkUp = true
  /// Applied to the next frames received, one each.
  var writeBacks: [WriteBack] = []

  // MARK: What the device saw and did

  let memory: BusMemory
  /// The registers written, by index; the rest read 0. (Not an array of all 32 Ki of them:
  /// the fuzz target makes a device per input.)
  private var registers: [Int: UInt32] = [:]
  /// Every register write, in order.
  private(set) var writes: [(offset: Int, value: UInt32)] = []
  /// Every register read, in order: the offsets.
  private(set) var reads: [Int] = []
  /// Frames sent, as they went on the wire.
  private(set) var sent: [[UInt8]] = []
  /// Frames received but not yet in memory: no buffer, or receive disabled.
  private(set) var queued: [[UInt8]] = []
  /// Addresses the device was told to read or write that no memory holds.
  var faults: [UInt64] { memory.faults }

  init(memory: BusMemory = BusMemory()) {
    self.memory = memory
    let mac = Self.mac
    set(
      Offset.receiveAddressLow,
      UInt32(mac[0]) | UInt32(mac[1]) << 8 | UInt32(mac[2]) << 16 | UInt32(mac[3]) << 24)
    set(Offset.receiveAddressHigh, UInt32(mac[4]) | UInt32(mac[5]) << 8 | 1 << 31)
  }

  /// The register at `offset` as the device holds it (no side effect).
  func register(_ offset: Int) -> UInt32 { registers[offset / 4, default: 0] }

  /// Sets a register as the device would (no side effect, not logged).
  func set(_ offset: Int, _ value: UInt32) { registers[offset / 4] = value }

  /// The values written to the register at `offset`, in order.
  func writes(to offset: Int) -> [UInt32] { writes.filter { $0.offset == offset }.map(\.value) }

  /// Where the first write to `offset` is in the log, or nil.
  func firstWrite(to offset: Int) -> Int? { writes.firstIndex { $0.offset == offset } }

  /// Whether INTx is asserted: a cause pending that the mask lets through.
  var interruptLine: Bool {
    register(Offset.interruptCause) & register(Offset.interruptMaskSet) != 0
  }

  var receiveRingSize: Int { Int(register(Offset.receiveLength) & 0xF_FF80) / 16 }
  var transmitRingSize: Int { Int(register(Offset.transmitLength) & 0xF_FF80) / 16 }

  // MARK: The wire

  /// A frame arriving from the network: written to the next buffer if the device may
  /// receive, else queued (as QEMU queues it). Returns whether it went to memory.
  @discardableResult
  func receive(_ frame: [UInt8]) -> Bool {
    let padded = frame.count < 60 ? frame + [UInt8](repeating: 0, count: 60 - frame.count) : frame
    guard canReceive else {
      queued.append(padded)
      return false
    }
    deliver(padded)
    return true
  }

  private var canReceive: Bool {
    busMaster && register(Offset.receiveControl) & 2 != 0 && receiveRingSize > 0
      && register(Offset.receiveHead) != register(Offset.receiveTail)
  }

  private func flushQueued() {
    while canReceive && !queued.isEmpty { deliver(queued.removeFirst()) }
  }

  private func deliver(_ frame: [UInt8]) {
    let head = Int(register(Offset.receiveHead))
    let descriptor = ringBase(Offset.receiveBaseLow) + UInt64(head * 16)
    let address = memory.load64(descriptor)
    let length = min(frame.count, 2048)
    if address != 0 { _ = memory.write(Array(frame[0..<length]), to: address) }
    let override = writeBacks.isEmpty ? WriteBack() : writeBacks.removeFirst()
    // Length, checksum, status (DD | EOP | IXSM), errors, special.
    let lengthWritten = override.length ?? UInt16(length)
    let status = override.status ?? 0b111
    let errors = override.errors ?? 0
    _ = memory.write(
      [
        UInt8(truncatingIfNeeded: lengthWritten), UInt8(truncatingIfNeeded: lengthWritten >> 8), 0,
        0,
        status, errors, 0, 0,
      ], to: descriptor + 8)
    set(Offset.receiveHead, UInt32((head + 1) % receiveRingSize))
    raise(1 << 7)
  }

  /// Lets the device finish the transmit descriptors it holds.
  func completeTransmits() {
    let size = transmitRingSize
    guard busMaster, register(Offset.transmitControl) & 2 != 0, size > 0 else { return }
    var head = Int(register(Offset.transmitHead))
    let tail = Int(register(Offset.transmitTail))
    var frame: [UInt8] = []
    while head != tail && head < size {
      let descriptor = ringBase(Offset.transmitBaseLow) + UInt64(head * 16)
      let address = memory.load64(descriptor)
      let words = memory.read(descriptor + 8, count: 8) ?? [UInt8](repeating: 0, count: 8)
      let length = Int(words[0]) | Int(words[1]) << 8
      let command = words[3]
      frame += memory.read(address, count: length) ?? []
      if command & 1 != 0 {
        sent.append(
          frame.count < 60 ? frame + [UInt8](repeating: 0, count: 60 - frame.count) : frame)
        frame = []
      }
      if command & 8 != 0 { _ = memory.write([1 | transmitErrorStatus], to: descriptor + 12) }
      head = (head + 1) % size
    }
    set(Offset.transmitHead, UInt32(head))
    raise(0b11)
  }

  private func ringBase(_ low: Int) -> UInt64 {
    UInt64(register(low + 4)) << 32 | UInt64(register(low))
  }

  private func raise(_ causes: UInt32) {
    set(Offset.interruptCause, register(Offset.interruptCause) | causes)
  }

  // MARK: Registers

  var byteCount: Int { Self.registerBytes }

  func load32(at offset: Int) -> UInt32 {
    checkAccess(at: offset, width: 4)
    reads.append(offset)
    let value = register(offset)
    switch offset {
    case Offset.interruptCause: set(offset, 0)
    case Offset.status: return (linkUp ? 0b10 : 0) | 1
    default: break
    }
    return value
  }

  func store32(_ value: UInt32, at offset: Int) {
    checkAccess(at: offset, width: 4)
    writes.append((offset, value))
    switch offset {
    case Offset.control: set(offset, value & ~(1 << 26))  // RST does nothing, as in QEMU 7.2
    case Offset.interruptCause, Offset.status: break
    case Offset.interruptCauseSet: raise(value)
    case Offset.interruptMaskSet: set(offset, register(offset) | value)
    case Offset.interruptMaskClear:
      set(Offset.interruptMaskSet, register(Offset.interruptMaskSet) & ~value)
    case Offset.eepromRead: readEEPROM(value)
    case Offset.receiveTail:
      set(offset, value)
      flushQueued()
    case Offset.transmitTail:
      set(offset, value)
      if completesTransmitAtOnce { completeTransmits() }
    default: set(offset, value)
    }
  }

  private func readEEPROM(_ value: UInt32) {
    guard value & 1 != 0, eepromAnswers else {
      set(Offset.eepromRead, value & ~0x10)
      return
    }
    let word = Int(value >> 8 & 0xFF)
    let data = word < eeprom.count ? eeprom[word] : 0xFFFF
    set(Offset.eepromRead, UInt32(data) << 16 | UInt32(word) << 8 | 0x10)
  }

  // The driver's registers are all 32 bits wide: other widths are its mistake.
  func load8(at offset: Int) -> UInt8 { preconditionFailure("e1000: 8-bit register read") }
  func load16(at offset: Int) -> UInt16 { preconditionFailure("e1000: 16-bit register read") }
  func load64(at offset: Int) -> UInt64 { preconditionFailure("e1000: 64-bit register read") }
  func store8(_ value: UInt8, at offset: Int) { preconditionFailure("e1000: 8-bit register write") }
  func store16(_ value: UInt16, at offset: Int) {
    preconditionFailure("e1000: 16-bit register write")
  }
  func store64(_ value: UInt64, at offset: Int) {
    preconditionFailure("e1000: 64-bit register write")
  }
}

/// A frame of `length` bytes: broadcast destination, the simulated device's MAC as
/// source, EtherType 0x88B5 (local experimental), then a pattern from `seed`.
func testFrame(length: Int, seed: UInt8 = 0) -> [UInt8] {
  let header: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + SimulatedE1000.mac + [0x88, 0xB5]
  return Array(
    (header + (0..<max(0, length - 14)).map { seed &+ UInt8(truncatingIfNeeded: $0 * 7) })
      .prefix(length))
}
