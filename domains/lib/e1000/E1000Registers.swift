/// The 82540EM's registers behind BAR 0, as this driver uses them (8254x Software
/// Developer's Manual, chapter 13), declared once with their offsets, widths and fields.
///
/// Reading `interruptCause` clears every cause (and lowers INTx). Writing
/// `receiveControl` makes QEMU 7.2 hold receive for a second of virtual time, so the
/// driver writes it once with every bit it needs (see `E1000Device`).
import Registers

public struct E1000Registers<Window: MemoryWindow>: RegisterBlock {
  /// Up to the end of the receive address table, the last register used.
  public static var byteCount: Int { 0x5480 }
  public let window: Window
  public let base: Int

  public init(window: Window, base: Int) {
    self.window = window
    self.base = base
  }

  public var control: ReadWriteRegister<Window, E1000Control> { register(at: 0x0000) }
  public var status: ReadOnlyRegister<Window, E1000Status> { register(at: 0x0008) }
  public var eepromRead: ReadWriteRegister<Window, EEPROMRead> { register(at: 0x0014) }

  /// Which causes are pending; reading clears all of them.
  public var interruptCause: ReadOnlyRegister<Window, InterruptCauses> { register(at: 0x00C0) }
  /// The shortest gap between interrupts, in 256 ns units (0: no throttling).
  public var interruptThrottle: ReadWriteRegister<Window, UInt32> { register(at: 0x00C4) }
  /// Writing 1 to a bit raises that cause, as if the device had.
  public var interruptCauseSet: WriteOnlyRegister<Window, InterruptCauses> { register(at: 0x00C8) }
  /// Writing 1 to a bit lets that cause interrupt; reading gives the mask.
  public var interruptMaskSet: ReadWriteRegister<Window, InterruptCauses> { register(at: 0x00D0) }
  /// Writing 1 to a bit stops that cause interrupting.
  public var interruptMaskClear: WriteOnlyRegister<Window, InterruptCauses> {
    register(at: 0x00D8)
  }

  public var receiveControl: ReadWriteRegister<Window, ReceiveControl> { register(at: 0x0100) }
  public var transmitControl: ReadWriteRegister<Window, TransmitControl> { register(at: 0x0400) }
  public var transmitInterPacketGap: ReadWriteRegister<Window, TransmitInterPacketGap> {
    register(at: 0x0410)
  }

  /// The receive ring's device address (RDBAL, then RDBAH).
  public var receiveDescriptorBase: ReadWriteSplitRegister<Window> { register(at: 0x2800) }
  /// The receive ring's length in bytes: a multiple of 128.
  public var receiveDescriptorLength: ReadWriteRegister<Window, UInt32> { register(at: 0x2808) }
  /// The next descriptor the device fills.
  public var receiveHead: ReadWriteRegister<Window, UInt32> { register(at: 0x2810) }
  /// One past the last descriptor the driver gave the device.
  public var receiveTail: ReadWriteRegister<Window, UInt32> { register(at: 0x2818) }
  /// Receive interrupt delays, in 1.024 us units (0: none).
  public var receiveDelayTimer: ReadWriteRegister<Window, UInt32> { register(at: 0x2820) }
  public var receiveAbsoluteDelay: ReadWriteRegister<Window, UInt32> { register(at: 0x282C) }

  public var transmitDescriptorBase: ReadWriteSplitRegister<Window> { register(at: 0x3800) }
  public var transmitDescriptorLength: ReadWriteRegister<Window, UInt32> { register(at: 0x3808) }
  /// The next descriptor the device sends.
  public var transmitHead: ReadWriteRegister<Window, UInt32> { register(at: 0x3810) }
  /// One past the last descriptor the driver gave the device.
  public var transmitTail: ReadWriteRegister<Window, UInt32> { register(at: 0x3818) }
  public var transmitInterruptDelay: ReadWriteRegister<Window, UInt32> { register(at: 0x3820) }
  public var transmitAbsoluteDelay: ReadWriteRegister<Window, UInt32> { register(at: 0x382C) }

  /// Entries of the multicast table array.
  public static var multicastTableCount: Int { 128 }
  public func multicastTable(_ index: Int) -> ReadWriteRegister<Window, UInt32> {
    precondition(index >= 0 && index < Self.multicastTableCount, "e1000: no such MTA entry")
    return register(at: 0x5200 + 4 * index)
  }

  /// Entries of the receive address table (exact-match MAC filters).
  public static var receiveAddressCount: Int { 16 }
  /// The first four bytes of entry `index`'s address, first byte lowest.
  public func receiveAddressLow(_ index: Int) -> ReadWriteRegister<Window, UInt32> {
    precondition(index >= 0 && index < Self.receiveAddressCount, "e1000: no such RA entry")
    return register(at: 0x5400 + 8 * index)
  }
  public func receiveAddressHigh(_ index: Int) -> ReadWriteRegister<Window, ReceiveAddressHigh> {
    precondition(index >= 0 && index < Self.receiveAddressCount, "e1000: no such RA entry")
    return register(at: 0x5404 + 8 * index)
  }
}

/// CTRL: link set-up and the resets.
public struct E1000Control: RegisterValue, Equatable, Sendable {
  public var raw: UInt32
  public init(raw: UInt32) { self.raw = raw }
}

extension Flag where Value == E1000Control, Access == ReadWrite {
  public static var fullDuplex: Self { Flag(bit: 0) }
  public static var linkReset: Self { Flag(bit: 3) }
  public static var autoSpeedDetection: Self { Flag(bit: 5) }
  /// Lets the MAC take the link the PHY negotiated.
  public static var setLinkUp: Self { Flag(bit: 6) }
  public static var invertLossOfSignal: Self { Flag(bit: 7) }
  public static var forceSpeed: Self { Flag(bit: 11) }
  public static var forceDuplex: Self { Flag(bit: 12) }
  /// Resets the device; QEMU 7.2 ignores it, so the driver never relies on it.
  public static var reset: Self { Flag(bit: 26) }
  public static var vlanMode: Self { Flag(bit: 30) }
  public static var phyReset: Self { Flag(bit: 31) }
}

/// STATUS: what the link is doing.
public struct E1000Status: RegisterValue, Equatable, Sendable {
  public var raw: UInt32
  public init(raw: UInt32) { self.raw = raw }
}

extension Flag where Value == E1000Status, Access == ReadOnly {
  public static var fullDuplex: Self { Flag(bit: 0) }
  public static var linkUp: Self { Flag(bit: 1) }
}

extension Field where Value == E1000Status, Access == ReadOnly {
  /// 0: 10 Mb/s, 1: 100 Mb/s, 2 or 3: 1000 Mb/s.
  public static var speed: Self { Field(bits: 6...7) }
}

/// EERD: reads one 16-bit word of the EEPROM (82540EM layout).
public struct EEPROMRead: RegisterValue, Equatable, Sendable {
  public var raw: UInt32
  public init(raw: UInt32) { self.raw = raw }
}

extension Flag where Value == EEPROMRead, Access == ReadWrite {
  public static var start: Self { Flag(bit: 0) }
}

extension Flag where Value == EEPROMRead, Access == ReadOnly {
  public static var done: Self { Flag(bit: 4) }
}

extension Field where Value == EEPROMRead, Access == ReadWrite {
  public static var address: Self { Field(bits: 8...15) }
}

extension Field where Value == EEPROMRead, Access == ReadOnly {
  public static var data: Self { Field(bits: 16...31) }
}

/// ICR, ICS, IMS and IMC: one bit per interrupt cause.
public struct InterruptCauses: RegisterValue, Equatable, Sendable {
  public var raw: UInt32
  public init(raw: UInt32) { self.raw = raw }

  /// Every cause, for masking them all.
  public static var all: Self { Self(raw: 0xFFFF_FFFF) }
  /// What a receive waiter wakes for: a frame written back, the ring running low or
  /// out, the link changing.
  public static var receive: Self {
    Self(raw: 0).setting(.receiveTimer).setting(.receiveMinimumThreshold)
      .setting(.receiveOverrun).setting(.linkStatusChange)
  }
}

extension Flag where Value == InterruptCauses, Access == ReadWrite {
  public static var transmitDescriptorWritten: Self { Flag(bit: 0) }
  public static var transmitQueueEmpty: Self { Flag(bit: 1) }
  public static var linkStatusChange: Self { Flag(bit: 2) }
  public static var receiveSequenceError: Self { Flag(bit: 3) }
  public static var receiveMinimumThreshold: Self { Flag(bit: 4) }
  public static var receiveOverrun: Self { Flag(bit: 6) }
  /// A frame was received (the receive timer, 0 here, ran out).
  public static var receiveTimer: Self { Flag(bit: 7) }
}

/// RCTL: receive on or off, which frames to take, and the buffer size.
public struct ReceiveControl: RegisterValue, Equatable, Sendable {
  public var raw: UInt32
  public init(raw: UInt32) { self.raw = raw }
}

extension Flag where Value == ReceiveControl, Access == ReadWrite {
  public static var enable: Self { Flag(bit: 1) }
  public static var storeBadPackets: Self { Flag(bit: 2) }
  public static var unicastPromiscuous: Self { Flag(bit: 3) }
  public static var multicastPromiscuous: Self { Flag(bit: 4) }
  public static var longPackets: Self { Flag(bit: 5) }
  /// Without it no broadcast (no ARP request) arrives.
  public static var broadcastAccept: Self { Flag(bit: 15) }
  public static var vlanFilter: Self { Flag(bit: 18) }
  public static var discardPause: Self { Flag(bit: 22) }
  public static var passMACControl: Self { Flag(bit: 23) }
  /// Multiplies `bufferSize` by 16.
  public static var bufferSizeExtension: Self { Flag(bit: 25) }
  /// Strips the 4-byte FCS; without it QEMU adds 4 bytes to every length.
  public static var stripCRC: Self { Flag(bit: 26) }
}

extension Field where Value == ReceiveControl, Access == ReadWrite {
  public static var loopbackMode: Self { Field(bits: 6...7) }
  /// When the minimum-threshold interrupt fires: 0 half, 1 a quarter, 2 an eighth of
  /// the ring left.
  public static var minimumThreshold: Self { Field(bits: 8...9) }
  public static var multicastOffset: Self { Field(bits: 12...13) }
  /// 0: 2048-byte buffers (without `bufferSizeExtension`).
  public static var bufferSize: Self { Field(bits: 16...17) }
}

/// TCTL: transmit on or off, and how it pads and retries.
public struct TransmitControl: RegisterValue, Equatable, Sendable {
  public var raw: UInt32
  public init(raw: UInt32) { self.raw = raw }
}

extension Flag where Value == TransmitControl, Access == ReadWrite {
  public static var enable: Self { Flag(bit: 1) }
  /// Pads frames shorter than 64 bytes (with the FCS) on the wire.
  public static var padShortPackets: Self { Flag(bit: 3) }
  public static var retransmitOnLateCollision: Self { Flag(bit: 24) }
}

extension Field where Value == TransmitControl, Access == ReadWrite {
  public static var collisionThreshold: Self { Field(bits: 4...11) }
  public static var collisionDistance: Self { Field(bits: 12...21) }
}

/// TIPG: the inter-packet gap, in MAC clocks.
public struct TransmitInterPacketGap: RegisterValue, Equatable, Sendable {
  public var raw: UInt32
  public init(raw: UInt32) { self.raw = raw }
}

extension Field where Value == TransmitInterPacketGap, Access == ReadWrite {
  public static var transmitTime: Self { Field(bits: 0...9) }
  public static var receiveTime1: Self { Field(bits: 10...19) }
  public static var receiveTime2: Self { Field(bits: 20...29) }
}

/// RAH: the last two bytes of a receive address, and whether the entry is used.
public struct ReceiveAddressHigh: RegisterValue, Equatable, Sendable {
  public var raw: UInt32
  public init(raw: UInt32) { self.raw = raw }
}

extension Field where Value == ReceiveAddressHigh, Access == ReadWrite {
  /// Bytes 4 and 5 of the address, byte 4 lowest.
  public static var addressHigh: Self { Field(bits: 0...15) }
  /// 0: match the destination address.
  public static var addressSelect: Self { Field(bits: 16...17) }
}

extension Flag where Value == ReceiveAddressHigh, Access == ReadWrite {
  public static var addressValid: Self { Flag(bit: 31) }
}
