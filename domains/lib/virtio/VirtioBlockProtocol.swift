/// What virtio-blk puts on the wire: its device configuration, and the header and
/// status byte around each request's data.
///
/// Sectors are always 512 bytes in the protocol, whatever the disk's block size.
import Registers

/// The block device configuration (`struct virtio_blk_config`), up to `blk_size`.
public struct VirtioBlockConfiguration<Window: MemoryWindow>: RegisterBlock {
  /// Through `blk_size`; `capacity` alone needs 8.
  public static var byteCount: Int { 24 }
  public let window: Window
  public let base: Int

  public init(window: Window, base: Int) {
    self.window = window
    self.base = base
  }

  /// The disk's size in 512-byte sectors.
  public var capacity: ReadOnlySplitRegister<Window> { register(at: 0x00) }
  /// With `.blockSizeMax`: the largest segment, in bytes.
  public var sizeMax: ReadOnlyRegister<Window, UInt32> { register(at: 0x08) }
  /// With `.blockSegmentMax`: the most data segments in one request.
  public var segmentMax: ReadOnlyRegister<Window, UInt32> { register(at: 0x0C) }
  /// With `.blockSize`: the logical block size the device prefers, in bytes.
  public var blockSize: ReadOnlyRegister<Window, UInt32> { register(at: 0x14) }
}

/// Request types (`type` in the header).
enum VirtioBlockRequestType {
  static let read: UInt32 = 0
  static let write: UInt32 = 1
  static let flush: UInt32 = 4
}

/// The request header: type, a reserved word, the first sector.
enum VirtioBlockHeader {
  static let byteCount = 16
  static let type = 0
  static let sector = 8
}

/// The status byte the device writes last.
public enum VirtioBlockStatus {
  public static let ok: UInt8 = 0
  public static let ioError: UInt8 = 1
  public static let unsupported: UInt8 = 2
  /// Written by the driver before submitting: a device that completes a request
  /// without writing its status shows up as this unknown status.
  static let notWritten: UInt8 = 0xFF
}

/// A block request: read or write one 4 KiB block from or into a buffer the device
/// reaches by DMA, or flush the device's write cache to the disk.
public enum VirtioBlockRequest: Equatable, Sendable {
  /// Reads block `block` into `into`, which must be exactly 4096 bytes.
  case read(block: UInt64, into: DMARegion)
  /// Writes the 4096 bytes of `from` to block `block`.
  case write(block: UInt64, from: DMARegion)
  /// Makes every completed write durable.
  case flush
}

/// A request at the device: its chain's id, and a serial number no other request of the
/// driver had, so that a ticket kept after its request was collected cannot name the
/// next request given that id.
public struct BlockTicket: Equatable, Sendable {
  public let id: UInt16
  let serial: UInt64
}

/// A finished request: its ticket, the tag it was submitted with, and nil or why it
/// failed.
public struct BlockCompletion: Equatable, Sendable {
  public let ticket: BlockTicket
  public let tag: UInt64
  public let error: VirtioBlockError?
}
