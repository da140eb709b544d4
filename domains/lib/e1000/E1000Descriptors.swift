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
  /// Everything the device writes back, read (and cleared) as one word.
  public var writeBack: ReadWriteRegister<Memory, ReceiveWriteBack> { register(at: 8) }
  /// The write-back's status byte alone, for looking at DD.
  public var status: ReadOnlyRegister<Memory, ReceiveStatus> { register(at: 12) }
}

/// The second half of a receive descriptor, which the device writes: length, checksum,
/// status, errors and VLAN tag.
public struct ReceiveWriteBack: RegisterValue, Equatable, Sendable {
  public var raw: UInt64
  public init(raw: UInt64) { self.raw = raw }

  public var status: ReceiveStatus { ReceiveStatus(raw: UInt8(truncatingIfNeeded: raw >> 32)) }
  public var errors: ReceiveErrors { ReceiveErrors(raw: UInt8(truncatingIfNeeded: raw >> 40)) }
}

extension Field where Value == ReceiveWriteBack, Access == ReadOnly {
  /// Bytes the device wrote into the buffer.
  public static var length: Self { Field(bits: 0...15) }
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
  /// Length, command and the rest, written as one word.
  public var control: ReadWriteRegister<Memory, TransmitDescriptorControl> { register(at: 8) }
  /// The status byte the device writes back.
  public var status: ReadOnlyRegister<Memory, TransmitStatus> { register(at: 12) }
}

/// The second half of a transmit descriptor: the length and command the driver writes,
/// the status the device writes back, and fields this driver leaves zero (checksum
/// offset and start, VLAN tag).
public struct TransmitDescriptorControl: RegisterValue, Equatable, Sendable {
  public var raw: UInt64
  public init(raw: UInt64) { self.raw = raw }

  /// A frame of `length` bytes in one buffer, with `command`; status cleared.
  public init(length: Int, command: TransmitCommand) {
    raw = UInt64(UInt16(length)) | UInt64(command.raw) << 24
  }
}

extension Field where Value == TransmitDescriptorControl, Access == ReadWrite {
  public static var length: Self { Field(bits: 0...15) }
  public static var command: Self { Field(bits: 24...31) }
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
