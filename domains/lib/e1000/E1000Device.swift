/// The 82540EM driver core: sets the device up from whatever state it is in, hands it
/// receive buffers and frames to send through the legacy descriptor rings, and takes
/// them back in order, checking everything the device wrote.
///
/// It knows nothing of the kernel or of RRefs. The caller maps BAR 0 as a window,
/// allocates DMA memory for the rings (`E1000MemoryLayout`), and names each buffer by
/// `DMARegion`. Buffers come back in exactly the order they were handed over, on each
/// ring, so a caller that keeps its buffers in a queue in that order always knows which
/// one a completion is about.
///
/// The device is never reset: CTRL.RST does nothing in QEMU 7.2. Setting up therefore
/// starts by stopping the device's DMA and interrupts (a crashed instance may have left
/// it running on rings that are gone), then programs every register the driver relies
/// on. RCTL is written once with every bit: each write holds receive for a second in
/// QEMU. INTx is level-triggered and reading ICR clears every cause, so a waiter reads
/// ICR before each wait.
///
/// Nobody waits on a frame to send, but the caller's frames come back only once the
/// device has finished them: a transmit unit that stops moving would keep them for ever.
/// The transmit watchdog (`watchTransmit`) restarts the transmit unit alone when the
/// oldest frame has been there longer than `transmitTimeout`.
import Packets
import Registers

public final class E1000Device<Window: MemoryWindow, Memory: DMAMemory> {
  public static var vendorID: UInt16 { 0x8086 }
  public static var deviceID: UInt16 { 0x100E }
  /// The receive buffer size RCTL selects, and so the least a posted buffer must hold.
  public static var receiveBufferBytes: Int { 2048 }
  /// An Ethernet header.
  public static var minimumFrameLength: Int { 14 }
  /// The longest frame sent, without FCS or VLAN tag.
  public static var maximumFrameLength: Int { 1514 }
  /// How often a waiter looks at EERD before giving up on the EEPROM.
  static var eepromPolls: Int { 10_000 }
  /// How long a frame may stay at the device before the transmit unit counts as
  /// stopped: QEMU sends inside the TDT write, so anything near this is a device that
  /// stopped moving.
  public static var transmitTimeout: UInt64 { 500_000_000 }

  public let registers: E1000Registers<Window>
  public let memory: Memory
  public let layout: E1000MemoryLayout
  public let mac: MACAddress
  /// The ITR value programmed, in 256 ns units (0: the device does not throttle).
  public let interruptThrottle: UInt32
  public private(set) var counters = E1000Counters()

  private var receiveRing: DescriptorRing
  private var transmitRing: DescriptorRing
  /// The tail values last written to RDT and TDT.
  private var receiveTailWritten = 0
  private var transmitTailWritten = 0
  /// Set after a descriptor without EOP: the frame's other pieces are dropped too.
  private var droppingFrameRest = false
  /// Threads inside `waitForFrames`: receive interrupts are unmasked while there are any.
  private var waiters = 0
  /// The length of the frame at each transmit descriptor, in the driver's own memory.
  private let transmitSlots: [TransmitSlot]
  /// Write-backs made bogus on purpose (`simulateBogusReceive`): the even ones get a
  /// bogus length, the odd ones an error bit.
  private var bogusReceives = 0

  /// Stops the device, reads its MAC address, and programs it to receive and transmit
  /// through empty rings in `memory` laid out by `layout` (which `memory` must hold, at a
  /// 128-byte aligned device address), with interrupts masked. Throws, with the device
  /// stopped, if the memory is unusable or there is no MAC address.
  public init(
    registers: E1000Registers<Window>, memory: Memory, layout: E1000MemoryLayout,
    interruptThrottle: UInt32 = 0
  ) throws(E1000Error) {
    Self.stopDMA(registers)
    guard memory.byteCount >= layout.byteCount, memory.dmaRegion.address % 128 == 0 else {
      throw .ringMemoryUnusable(needed: layout.byteCount, available: memory.byteCount)
    }
    guard let mac = Self.readMACAddress(registers) else { throw .noMACAddress }
    self.registers = registers
    self.memory = memory
    self.layout = layout
    self.mac = mac
    self.interruptThrottle = interruptThrottle
    receiveRing = DescriptorRing(size: layout.receiveRingSize)
    transmitRing = DescriptorRing(size: layout.transmitRingSize)
    transmitSlots = (0..<layout.transmitRingSize).map { _ in TransmitSlot() }
    program()
    counters.resets = 1
  }

  /// Stops receive, transmit and interrupts, and clears pending causes: after this the
  /// device neither reads nor writes memory. RCTL is written only if it is not 0
  /// already, since every write of it holds receive for a second.
  public static func stopDMA(_ registers: E1000Registers<Window>) {
    registers.interruptMaskClear.write(.all)
    if registers.receiveControl.read().raw != 0 {
      registers.receiveControl.write(ReceiveControl(raw: 0))
    }
    registers.transmitControl.write(TransmitControl(raw: 0))
    _ = registers.interruptCause.read()
  }

  /// The MAC address in RAL0/RAH0 if they hold a valid one, else in EEPROM words 0-2;
  /// nil if neither holds an individual, non-zero address.
  static func readMACAddress(_ registers: E1000Registers<Window>) -> MACAddress? {
    let high = registers.receiveAddressHigh(0).read()
    if high[.addressValid] {
      let low = registers.receiveAddressLow(0).read()
      let address = macAddress(low: low, high: UInt16(truncatingIfNeeded: high[.addressHigh]))
      if isUsable(address) { return address }
    }
    guard let word0 = readEEPROM(registers, word: 0), let word1 = readEEPROM(registers, word: 1),
      let word2 = readEEPROM(registers, word: 2)
    else { return nil }
    let address = macAddress(low: UInt32(word1) << 16 | UInt32(word0), high: word2)
    return isUsable(address) ? address : nil
  }

  private static func macAddress(low: UInt32, high: UInt16) -> MACAddress {
    func byte(_ value: UInt32, _ index: Int) -> UInt8 {
      UInt8(truncatingIfNeeded: value >> (8 * index))
    }
    return MACAddress(
      byte(low, 0), byte(low, 1), byte(low, 2), byte(low, 3), byte(UInt32(high), 0),
      byte(UInt32(high), 1))
  }

  private static func isUsable(_ address: MACAddress) -> Bool {
    address != .zero && !address.isGroup
  }

  /// Word `word` of the EEPROM, or nil if the read does not finish.
  static func readEEPROM(_ registers: E1000Registers<Window>, word: UInt32) -> UInt16? {
    registers.eepromRead.write(EEPROMRead(raw: 0).setting(.start).setting(.address, to: word))
    for _ in 0..<eepromPolls {
      let value = registers.eepromRead.read()
      if value[.done] { return UInt16(truncatingIfNeeded: value[.data]) }
    }
    return nil
  }

  /// Every register the driver relies on, from scratch (the device was stopped).
  private func program() {
    registers.control.modify {
      $0.set(.setLinkUp)
      $0.set(.autoSpeedDetection)
      $0.set(.linkReset, false)
      $0.set(.invertLossOfSignal, false)
      $0.set(.forceSpeed, false)
      $0.set(.forceDuplex, false)
      $0.set(.reset, false)
      $0.set(.phyReset, false)
      $0.set(.vlanMode, false)
    }
    registers.interruptThrottle.write(interruptThrottle)
    registers.receiveDelayTimer.write(0)
    registers.receiveAbsoluteDelay.write(0)
    registers.transmitInterruptDelay.write(0)
    registers.transmitAbsoluteDelay.write(0)
    // IEEE 802.3's gap on copper (SDM 13.4.34): IPGT 10, IPGR1 8, IPGR2 6.
    registers.transmitInterPacketGap.write(
      TransmitInterPacketGap(raw: 0).setting(.transmitTime, to: 10)
        .setting(.receiveTime1, to: 8).setting(.receiveTime2, to: 6))

    for index in 0..<E1000Registers<Window>.multicastTableCount {
      registers.multicastTable(index).write(0)
    }
    var low: UInt32 = 0
    for index in 0..<4 { low |= UInt32(mac.byte(index)) << (8 * index) }
    registers.receiveAddressLow(0).write(low)
    registers.receiveAddressHigh(0).write(
      ReceiveAddressHigh(raw: 0).setting(
        .addressHigh, to: UInt32(mac.byte(5)) << 8 | UInt32(mac.byte(4))
      )
      .setting(.addressValid))
    for index in 1..<E1000Registers<Window>.receiveAddressCount {
      registers.receiveAddressHigh(index).write(ReceiveAddressHigh(raw: 0))
      registers.receiveAddressLow(index).write(0)
    }

    // Empty rings: nothing at the device until buffers are posted.
    for offset in stride(from: 0, to: layout.byteCount, by: 8) { memory.store64(0, at: offset) }
    memory.fence()
    let receive = memory.dmaRegion(at: layout.receiveRing, count: layout.receiveRingBytes)
    registers.receiveDescriptorBase.write(receive.address)
    registers.receiveDescriptorLength.write(UInt32(layout.receiveRingBytes))
    registers.receiveHead.write(0)
    registers.receiveTail.write(0)
    programTransmit()
    // The one write of RCTL: 2048-byte buffers (BSIZE 0), broadcasts, FCS stripped.
    registers.receiveControl.write(
      ReceiveControl(raw: 0).setting(.enable).setting(.broadcastAccept).setting(.stripCRC))
  }

  /// The transmit ring's registers for an empty ring (its memory cleared), then TCTL:
  /// the unit starts sending from there.
  private func programTransmit() {
    let transmit = memory.dmaRegion(at: layout.transmitRing, count: layout.transmitRingBytes)
    registers.transmitDescriptorBase.write(transmit.address)
    registers.transmitDescriptorLength.write(UInt32(layout.transmitRingBytes))
    registers.transmitHead.write(0)
    registers.transmitTail.write(0)
    registers.transmitControl.write(
      TransmitControl(raw: 0).setting(.enable).setting(.padShortPackets)
        .setting(.collisionThreshold, to: 0x0F).setting(.collisionDistance, to: 0x40))
  }

  /// Whether the link is up, as STATUS says now.
  public var linkUp: Bool { registers.status.read()[.linkUp] }

  // MARK: Receive

  /// How many more buffers the device can take.
  public var receiveRoom: Int { receiveRing.room }
  /// How many buffers the device holds.
  public var receiveBuffersPosted: Int { receiveRing.count }

  /// Hands the device `buffer` to receive one frame into, after the buffers it holds.
  /// The device sees it after `publishReceive`. Returns false, doing nothing, if the ring
  /// is full or the buffer is smaller than `receiveBufferBytes`.
  public func postReceive(_ buffer: DMARegion) -> Bool {
    guard buffer.byteCount >= Self.receiveBufferBytes, receiveRing.room > 0 else { return false }
    let descriptor = receiveDescriptor(receiveRing.push())
    descriptor.bufferAddress.write(buffer.address)
    descriptor.writeBack.write(ReceiveWriteBack(raw: 0))
    return true
  }

  /// Shows the device the buffers posted since the last call (one RDT write).
  public func publishReceive() {
    receiveTailWritten = publish(receiveRing.tail, over: receiveTailWritten, registers.receiveTail)
  }

  /// Whether the oldest posted buffer is done (holding a frame, or one to drop).
  public var frameReady: Bool {
    !receiveRing.isEmpty && receiveDescriptor(receiveRing.head).status.read()[.descriptorDone]
  }

  /// Takes the oldest posted buffer back if the device is done with it, and says what it
  /// holds; nil while the device still holds it.
  public func takeReceived() -> ReceiveOutcome? {
    guard !receiveRing.isEmpty else { return nil }
    let descriptor = receiveDescriptor(receiveRing.head)
    guard descriptor.status.read()[.descriptorDone] else { return nil }
    // What the device wrote with DD is read only after DD, and once.
    memory.fence()
    let writeBack = descriptor.writeBack.read()
    _ = receiveRing.pop()
    descriptor.writeBack.write(ReceiveWriteBack(raw: 0))
    let outcome = judge(
      status: writeBack.status, errors: writeBack.errors, length: Int(writeBack[.length]))
    switch outcome {
    case .frame(let length):
      counters.receivedFrames += 1
      counters.receivedBytes += UInt64(length)
    case .dropped(.restOfDroppedFrame):
      break
    case .dropped:
      counters.receiveErrors += 1
    }
    return outcome
  }

  /// What a written-back descriptor holds. A frame must end in its one descriptor (2048
  /// bytes hold any frame without LPE), carry no error the device flagged, and have a
  /// length from an Ethernet header up to the buffer's size.
  private func judge(status: ReceiveStatus, errors: ReceiveErrors, length: Int) -> ReceiveOutcome {
    if droppingFrameRest {
      if status[.endOfPacket] { droppingFrameRest = false }
      return .dropped(.restOfDroppedFrame)
    }
    guard status[.endOfPacket] else {
      droppingFrameRest = true
      return .dropped(.noEndOfPacket)
    }
    guard errors.raw & ReceiveErrors.frameErrors.raw == 0 else {
      return .dropped(.deviceError(errors))
    }
    guard length >= Self.minimumFrameLength && length <= Self.receiveBufferBytes else {
      return .dropped(.badLength(length))
    }
    return .frame(length: length)
  }

  // MARK: Transmit

  /// How many more frames the device can take.
  public var transmitRoom: Int { transmitRing.room }
  /// How many frames the device holds.
  public var transmitFramesQueued: Int { transmitRing.count }

  /// Hands the device the frame in `frame` (all of its bytes), after those it holds. The
  /// device sees it after `publishTransmit`; `now` (in nanoseconds) is when, for the
  /// transmit watchdog.
  public func queueTransmit(_ frame: DMARegion, at now: UInt64 = 0) -> TransmitAdmission {
    guard frame.byteCount >= Self.minimumFrameLength && frame.byteCount <= Self.maximumFrameLength
    else {
      counters.transmitErrors += 1
      return .badLength
    }
    guard transmitRing.room > 0 else { return .noRoom }
    let index = transmitRing.push()
    let descriptor = transmitDescriptor(index)
    descriptor.bufferAddress.write(frame.address)
    descriptor.control.write(
      TransmitDescriptorControl(length: frame.byteCount, command: .wholeFrame))
    transmitSlots[index].length = frame.byteCount
    transmitSlots[index].queuedAt = now
    return .queued
  }

  /// Shows the device the frames queued since the last call (one TDT write).
  public func publishTransmit() {
    transmitTailWritten = publish(
      transmitRing.tail, over: transmitTailWritten, registers.transmitTail)
  }

  /// Writes `tail` to a tail register unless it holds it already (`written`), after a
  /// fence so that the device sees the descriptors first; returns what it holds now.
  private func publish(
    _ tail: Int, over written: Int, _ register: ReadWriteRegister<Window, UInt32>
  ) -> Int {
    guard tail != written else { return written }
    memory.fence()
    register.write(UInt32(tail))
    return tail
  }

  /// Takes the oldest queued frame back if the device is done with it (DD); nil while
  /// the device still holds it. `losing` is asked, once DD is seen, whether to act out a
  /// lost completion (a fault campaign's): the status is cleared as if the device had
  /// never written it back, and the ring stops there until the watchdog restarts it.
  public func takeTransmitted(losing: () -> Bool = { false }) -> TransmitOutcome? {
    guard !transmitRing.isEmpty else { return nil }
    let index = transmitRing.head
    let descriptor = transmitDescriptor(index)
    let status = descriptor.status.read()
    guard status[.descriptorDone] else { return nil }
    if losing() {
      descriptor.control.write(
        TransmitDescriptorControl(length: transmitSlots[index].length, command: .wholeFrame))
      return nil
    }
    memory.fence()
    _ = transmitRing.pop()
    guard !status[.excessCollisions], !status[.lateCollision], !status[.underrun] else {
      counters.transmitErrors += 1
      return .failed(status)
    }
    counters.sentFrames += 1
    counters.sentBytes += UInt64(transmitSlots[index].length)
    return .sent
  }

  /// The transmit watchdog: if the oldest frame the device holds was queued more than
  /// `transmitTimeout` before `now`, restarts the transmit unit (`restartTransmit`) and
  /// returns how many frames it held; nil if the unit is moving (the oldest frame is
  /// done and not yet taken back counts as moving). Call it after taking back what the
  /// device has sent.
  public func watchTransmit(now: UInt64) -> Int? {
    guard !transmitRing.isEmpty else { return nil }
    let head = transmitRing.head
    guard !transmitDescriptor(head).status.read()[.descriptorDone] else { return nil }
    let queuedAt = transmitSlots[head].queuedAt
    guard now > queuedAt, now - queuedAt > Self.transmitTimeout else { return nil }
    counters.transmitErrors += 1
    return restartTransmit()
  }

  /// Stops the transmit unit (TCTL 0: QEMU reads no descriptor or frame after it),
  /// empties the ring and starts the unit again on it. Receive goes on untouched: RCTL
  /// is not written (each write would hold receive for a second). Returns how many frames
  /// the device held: the caller's again, in ring order, not (known to be) sent.
  public func restartTransmit() -> Int {
    registers.transmitControl.write(TransmitControl(raw: 0))
    let abandoned = transmitRing.count
    let ring = layout.transmitRing
    for offset in stride(from: ring, to: ring + layout.transmitRingBytes, by: 8) {
      memory.store64(0, at: offset)
    }
    memory.fence()
    transmitRing = DescriptorRing(size: layout.transmitRingSize)
    transmitTailWritten = 0
    programTransmit()
    counters.resets += 1
    return abandoned
  }

  // MARK: Faults acted out

  /// Acts out a device that wrote a bogus length or (in turn) an error bit into the
  /// oldest posted buffer's write-back, for a fault campaign: `takeReceived` drops the
  /// frame as it would the device's own. Nothing unless the device is done with it.
  public func simulateBogusReceive() {
    guard frameReady else { return }
    let descriptor = receiveDescriptor(receiveRing.head)
    let raw = descriptor.writeBack.read().raw
    let bogus = bogusReceives % 2 == 0 ? raw | 0xFFFF : raw | UInt64(0x80) << 40
    descriptor.writeBack.write(ReceiveWriteBack(raw: bogus))
    bogusReceives += 1
  }

  // MARK: Waiting

  /// Returns whether a frame is ready, waiting until one is or `timeoutNanoseconds`
  /// have passed. While it waits, receive interrupts are unmasked; `wait` blocks until
  /// the device interrupts or the time given passes (or, for a device without an
  /// interrupt, pauses briefly), and `clock` tells the time in nanoseconds. Other calls may use the device while `wait` runs: nothing here is
  /// kept across it but the deadline.
  public func waitForFrames(
    timeoutNanoseconds: UInt64, clock: () -> UInt64, wait: (UInt64) -> DeviceWait
  ) -> Bool {
    if frameReady { return true }
    let start = clock()
    let deadline = start > UInt64.max - timeoutNanoseconds ? UInt64.max : start + timeoutNanoseconds
    waiters += 1
    if waiters == 1 { registers.interruptMaskSet.write(.receive) }
    defer {
      waiters -= 1
      if waiters == 0 { registers.interruptMaskClear.write(.receive) }
    }
    while true {
      // Clears what is pending, which lowers INTx: a frame that comes after this read
      // raises a cause again, so the wait below cannot miss it.
      _ = registers.interruptCause.read()
      if frameReady { return true }
      let now = clock()
      guard now < deadline else { return false }
      switch wait(deadline - now) {
      case .interrupted: counters.interrupts += 1
      case .polled: break
      case .timedOut: return frameReady
      }
    }
  }

  // MARK: Descriptors

  private func receiveDescriptor(_ index: Int) -> ReceiveDescriptor<Memory> {
    ReceiveDescriptor(
      window: memory, base: layout.receiveRing + index * E1000MemoryLayout.descriptorBytes)
  }

  private func transmitDescriptor(_ index: Int) -> TransmitDescriptor<Memory> {
    TransmitDescriptor(
      window: memory, base: layout.transmitRing + index * E1000MemoryLayout.descriptorBytes)
  }
}

/// What a buffer the device gave back holds.
public enum ReceiveOutcome: Equatable, Sendable {
  /// A whole frame, `length` bytes from the start of the buffer.
  case frame(length: Int)
  /// Nothing to pass on: the frame was dropped (and counted, once per frame).
  case dropped(ReceiveDrop)
}

/// Why a received frame was dropped.
public enum ReceiveDrop: Equatable, Sendable {
  /// The device flagged a CRC, symbol, sequence, carrier extension or data error.
  case deviceError(ReceiveErrors)
  /// A length below an Ethernet header or past the buffer.
  case badLength(Int)
  /// The frame does not end in this descriptor (the device spread it over several).
  case noEndOfPacket
  /// A later piece of a frame dropped for `noEndOfPacket`: not counted again.
  case restOfDroppedFrame
}

/// What `queueTransmit` did with a frame.
public enum TransmitAdmission: Equatable, Sendable {
  case queued
  /// Below an Ethernet header or above `maximumFrameLength`: not sent (and counted).
  case badLength
  /// The ring is full: not sent; try again after the device finished some.
  case noRoom
}

/// How the device finished with a frame.
public enum TransmitOutcome: Equatable, Sendable {
  case sent
  /// Excess or late collisions, or an underrun: not sent.
  case failed(TransmitStatus)
}

/// How one wait for the device's interrupt ended.
public enum DeviceWait: Equatable, Sendable {
  case interrupted
  case timedOut
  /// The device has no interrupt: the caller only paused a little. Look again.
  case polled
}

/// A transmit descriptor's frame length and time, kept by the driver: one object per descriptor,
/// so that recording one changes the object and never the array.
final class TransmitSlot {
  var length = 0
  /// When the frame was queued, for the transmit watchdog.
  var queuedAt: UInt64 = 0
}
