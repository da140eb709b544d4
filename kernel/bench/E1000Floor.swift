/// The e1000 (82540EM) as the echo floor drives it: legacy descriptor rings, polled.
///
/// Only what QEMU's model needs (shared NETWORK.md has the facts): receive and transmit
/// rings of 32 descriptors (a multiple of 8, or QEMU takes the ring length as 0), one
/// 2 KiB buffer per receive descriptor, RCTL written once with every bit it needs, no
/// interrupt causes enabled. Receive descriptor i always holds buffer i; an answer goes
/// out from that same buffer, and the buffer goes back to the receive ring once the
/// transmit descriptor is done (QEMU transmits inside the TDT write).
import PCI
import Packets

final class E1000Floor: FloorNIC {
  private static let control = 0x0000
  private static let interruptCause = 0x00C0
  private static let interruptMaskClear = 0x00D8
  private static let receiveControl = 0x0100
  private static let transmitControl = 0x0400
  private static let transmitGap = 0x0410
  private static let receiveRing = 0x2800  // base low, base high, length, head, tail
  private static let transmitRing = 0x3800
  private static let receiveAddress = 0x5400
  private static let descriptors = 32
  private static let bufferSize = 2048

  let mac: MACAddress
  private let registers: FloorWindow
  private let memory: FloorFrames
  private var receiveNext = 0
  private var transmitTail = 0

  /// Stops the device's DMA: CTRL.RST does nothing in QEMU 7.2, so receive and
  /// transmit are switched off and every interrupt cause masked. (Before the kernel's
  /// assignment turns bus mastering on, since QEMU then delivers the frames it queued.)
  static func quiesce(_ device: Device) {
    guard let bar = device.function.bar(0), bar.kind.isMemory else { return }
    stop(FloorWindow(base: bar.base))
  }

  private static func stop(_ registers: FloorWindow) {
    registers.store(UInt32(0), receiveControl)
    registers.store(UInt32(0), transmitControl)
    registers.store(UInt32.max, interruptMaskClear)
  }

  static func start(_ loan: FloorDevice) -> Result<E1000Floor, FloorError> {
    guard let registers = loan.memoryBAR(0) else {
      return .failure(FloorError("BAR0 is not the register window"))
    }
    // The rings in the first frame, then the buffers.
    guard let memory = FloorFrames(count: 1 + descriptors * bufferSize / 4096) else {
      return .failure(FloorError("no memory for the rings"))
    }
    return .success(E1000Floor(registers, memory))
  }

  private init(_ registers: FloorWindow, _ memory: FloorFrames) {
    self.registers = registers
    self.memory = memory
    Self.stop(registers)
    _ = registers.load32(Self.interruptCause)  // reading clears every cause
    let low = UInt64(registers.load32(Self.receiveAddress))
    let high = UInt64(registers.load32(Self.receiveAddress + 4) & 0xFFFF)
    // RAL holds the first four bytes on the wire, lowest byte first.
    var raw: UInt64 = 0
    for index in 0..<6 { raw = raw << 8 | (low | high << 32) >> UInt64(8 * index) & 0xFF }
    mac = MACAddress(rawValue: raw)
    let linkUp: UInt32 = 1 << 6
    registers.store(registers.load32(Self.control) | linkUp, Self.control)
    for index in 0..<Self.descriptors {
      receiveDescriptor(index).store(buffer(index).base, 0)
    }
    let ringBytes = UInt32(16 * Self.descriptors)
    program(Self.transmitRing, at: memory.address + UInt64(ringBytes), bytes: ringBytes, tail: 0)
    let enable: UInt32 = 1 << 1
    let padShortPackets: UInt32 = 1 << 3
    let collisionThreshold: UInt32 = 0x0F << 4
    let collisionDistance: UInt32 = 0x40 << 12
    registers.store(
      enable | padShortPackets | collisionThreshold | collisionDistance, Self.transmitControl)
    registers.store(UInt32(10 | 10 << 10 | 10 << 20), Self.transmitGap)
    // Head 0, tail N-1: every descriptor but one is the device's.
    program(Self.receiveRing, at: memory.address, bytes: ringBytes, tail: Self.descriptors - 1)
    // Once, with every bit: each RCTL write holds receive for a second of virtual time.
    // Buffer size 2048 is BSIZE 0; SECRC leaves the CRC out of the length, BAM lets
    // broadcast ARP requests in.
    let broadcastAccept: UInt32 = 1 << 15
    let stripCRC: UInt32 = 1 << 26
    registers.store(enable | broadcastAccept | stripCRC, Self.receiveControl)
    // Frames QEMU queues meanwhile arrive after the hold: wait it out, so that "ready"
    // means ready.
    Scheduler.sleep(nanoseconds: 1_050_000_000)
  }

  func poll(_ answer: (FloorWindow, Int) -> Int) -> Int {
    var taken = 0
    var sent = 0
    var index = receiveNext
    // One descriptor always stays the driver's, so at most N-1 are full at once.
    while taken < Self.descriptors - 1 {
      let descriptor = receiveDescriptor(index)
      let status = descriptor.load8(12)
      guard status & 1 != 0 else { break }  // DD
      let endOfPacket = status & 2 != 0
      let length = Int(descriptor.load16(8))
      let reply = endOfPacket && descriptor.load8(13) == 0 ? answer(buffer(index), length) : 0
      if reply > 0 {
        let out = transmitDescriptor(transmitTail)
        out.store(buffer(index).base, 0)
        out.store(UInt16(reply), 8)
        let endOfPacketInsertCRCReportStatus: UInt8 = 1 | 2 | 8
        out.store(endOfPacketInsertCRCReportStatus, 11)
        out.store(UInt8(0), 12)
        transmitTail = (transmitTail + 1) % Self.descriptors
        sent += 1
      }
      taken += 1
      index = (index + 1) % Self.descriptors
    }
    guard taken > 0 else { return 0 }
    if sent > 0 {
      registers.store(UInt32(transmitTail), Self.transmitRing + 0x18)
      // Done by now in QEMU; the wait keeps to the device's contract all the same.
      let last = transmitDescriptor((transmitTail + Self.descriptors - 1) % Self.descriptors)
      var spins = 0
      while last.load8(12) & 1 == 0 && spins < 1_000_000 { spins += 1 }
    }
    for _ in 0..<taken {
      receiveDescriptor(receiveNext).store(UInt8(0), 12)
      receiveNext = (receiveNext + 1) % Self.descriptors
    }
    // The last descriptor taken becomes the one the driver keeps.
    registers.store(
      UInt32((receiveNext + Self.descriptors - 1) % Self.descriptors), Self.receiveRing + 0x18)
    return taken
  }

  func stop() {
    Self.stop(registers)
    memory.free()
  }

  private func program(_ ring: Int, at address: UInt64, bytes: UInt32, tail: Int) {
    registers.store(UInt32(truncatingIfNeeded: address), ring)
    registers.store(UInt32(truncatingIfNeeded: address >> 32), ring + 0x04)
    registers.store(bytes, ring + 0x08)
    registers.store(UInt32(0), ring + 0x10)
    registers.store(UInt32(tail), ring + 0x18)
  }

  private func receiveDescriptor(_ index: Int) -> FloorWindow {
    memory.window.advanced(by: 16 * index)
  }

  private func transmitDescriptor(_ index: Int) -> FloorWindow {
    memory.window.advanced(by: 16 * (Self.descriptors + index))
  }

  private func buffer(_ index: Int) -> FloorWindow {
    memory.window.advanced(by: 4096 + Self.bufferSize * index)
  }
}
