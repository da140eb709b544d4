/// The 82540EM's legacy receive and transmit descriptors: 16 bytes each, in rings in DMA
/// memory, declared as register blocks over that memory.
///
/// The driver writes a descriptor before it hands it to the device (tail register) and
/// reads what the device wrote back only after seeing its DD bit, and then trusts
/// nothing it did not check: the device may write any bytes there.
import Registers

/// A receive descriptor: where to put a frame, and what the device says about it after.
public struct ReceiveDescriptor<Memory: MemoryWindow>: RegisterBlock {
  public static var byteCount: Int { 16 }
  public let window: Memory
  public let base: Int

  public init(window: Memory, base: Int) {
    self.window = window
    self.base = base
  }

  public var bufferAddress: ReadWriteRegister<Memory, UInt64> { register(at: 0) }
  /// Bytes the device wrote into the buffer.
  public var length: ReadWriteRegister<Memory, UInt16> { register(at: 8) }
  public var status: ReadWriteRegister<Memory, ReceiveStatus> { register(at: 12) }
  public var errors: ReadWriteRegister<Memory, ReceiveErrors> { register(at: 13) }
  /// The checksum and the VLAN tag (bytes 10-11 and 14-15): written as zero only.
  public var checksum: ReadWriteRegister<Memory, UInt16> { register(at: 10) }
  public var special: ReadWriteRegister<Memory, UInt16> { register(at: 14) }
}

public struct ReceiveStatus: RegisterValue, Equatable, Sendable {
  public var raw: UInt8
  public init(raw: UInt8) { self.raw = raw }
}

extension Flag where Value == ReceiveStatus, Access == ReadOnly {
  /// The device is done with the descriptor.
  public static var descriptorDone: Self { Flag(bit: 0) }
  /// The frame ends in this descriptor's buffer.
  public static var endOfPacket: Self { Flag(bit: 1) }
  /// The device did not check the checksums: the stack must.
  public static var ignoreChecksum: Self { Flag(bit: 2) }
}

public struct ReceiveErrors: RegisterValue, Equatable, Sendable {
  public var raw: UInt8
  public init(raw: UInt8) { self.raw = raw }

  /// The errors that make a frame unusable. The checksum errors (bits 5 and 6) are left
  /// out: the driver asks for no checksum offload, and the stack checks them itself.
  public static var frameErrors: Self { Self(raw: 0b1001_0111) }
}

extension Flag where Value == ReceiveErrors, Access == ReadOnly {
  public static var crcError: Self { Flag(bit: 0) }
  public static var symbolError: Self { Flag(bit: 1) }
  public static var sequenceError: Self { Flag(bit: 2) }
  public static var carrierExtensionError: Self { Flag(bit: 4) }
  public static var dataError: Self { Flag(bit: 7) }
}

/// A transmit descriptor: one buffer of a frame to send, and its write-back status.
public struct TransmitDescriptor<Memory: MemoryWindow>: RegisterBlock {
  public static var byteCount: Int { 16 }
  public let window: Memory
  public let base: Int

  public init(window: Memory, base: Int) {
    self.window = window
    self.base = base
  }

  public var bufferAddress: ReadWriteRegister<Memory, UInt64> { register(at: 0) }
  public var length: ReadWriteRegister<Memory, UInt16> { register(at: 8) }
  /// Checksum offset and start (bytes 10 and 13): unused, written as zero.
  public var checksumOffset: ReadWriteRegister<Memory, UInt8> { register(at: 10) }
  public var command: ReadWriteRegister<Memory, TransmitCommand> { register(at: 11) }
  public var status: ReadWriteRegister<Memory, TransmitStatus> { register(at: 12) }
  public var checksumStart: ReadWriteRegister<Memory, UInt8> { register(at: 13) }
  public var special: ReadWriteRegister<Memory, UInt16> { register(at: 14) }
}

public struct TransmitCommand: RegisterValue, Equatable, Sendable {
  public var raw: UInt8
  public init(raw: UInt8) { self.raw = raw }

  /// A whole frame in one descriptor, FCS added by the device, DD reported.
  public static var wholeFrame: Self {
    Self(raw: 0).setting(.endOfPacket).setting(.insertFCS).setting(.reportStatus)
  }
}

extension Flag where Value == TransmitCommand, Access == ReadWrite {
  public static var endOfPacket: Self { Flag(bit: 0) }
  public static var insertFCS: Self { Flag(bit: 1) }
  /// The device sets DD in the status when it is done with the descriptor.
  public static var reportStatus: Self { Flag(bit: 3) }
  /// An extended (not legacy) descriptor: never set here.
  public static var extended: Self { Flag(bit: 5) }
}

public struct TransmitStatus: RegisterValue, Equatable, Sendable {
  public var raw: UInt8
  public init(raw: UInt8) { self.raw = raw }
}

extension Flag where Value == TransmitStatus, Access == ReadOnly {
  public static var descriptorDone: Self { Flag(bit: 0) }
  public static var excessCollisions: Self { Flag(bit: 1) }
  public static var lateCollision: Self { Flag(bit: 2) }
  public static var underrun: Self { Flag(bit: 3) }
}
