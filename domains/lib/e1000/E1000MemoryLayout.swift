/// Where the driver's DMA memory holds the two descriptor rings.
///
/// Ring sizes are multiples of 8 descriptors: the device masks the ring length with
/// 0xFFF80, so a length that is not a multiple of 128 bytes turns into a shorter ring
/// (or none at all). Each ring starts on a 128-byte boundary.
public struct E1000MemoryLayout: Equatable, Sendable {
  public static var descriptorBytes: Int { 16 }
  /// The largest ring this driver sets up.
  public static var largestRing: Int { 4096 }

  public let receiveRingSize: Int
  public let transmitRingSize: Int
  /// Offsets of the rings in the memory.
  public let receiveRing: Int
  public let transmitRing: Int
  public let byteCount: Int

  /// The layout for rings of these sizes, or nil unless each is a multiple of 8
  /// descriptors between 8 and `largestRing`.
  public init?(receiveRingSize: Int, transmitRingSize: Int) {
    guard Self.isUsable(receiveRingSize), Self.isUsable(transmitRingSize) else { return nil }
    self.receiveRingSize = receiveRingSize
    self.transmitRingSize = transmitRingSize
    receiveRing = 0
    transmitRing = receiveRingSize * Self.descriptorBytes
    byteCount = transmitRing + transmitRingSize * Self.descriptorBytes
  }

  public var receiveRingBytes: Int { receiveRingSize * Self.descriptorBytes }
  public var transmitRingBytes: Int { transmitRingSize * Self.descriptorBytes }

  private static func isUsable(_ size: Int) -> Bool {
    size >= 8 && size <= largestRing && size % 8 == 0
  }
}
