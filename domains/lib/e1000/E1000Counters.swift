/// What the driver counted since it set the device up; the domain reports them as the
/// NetworkDevice interface's counters.
public struct E1000Counters: Equatable, Sendable {
  public var receivedFrames: UInt64 = 0
  public var receivedBytes: UInt64 = 0
  public var sentFrames: UInt64 = 0
  public var sentBytes: UInt64 = 0
  /// Frames dropped in the driver: the device flagged an error, or wrote back a length
  /// or a descriptor the driver cannot trust.
  public var receiveErrors: UInt64 = 0
  /// Frames the device could not send, or the driver refused (bad length).
  public var transmitErrors: UInt64 = 0
  public var interrupts: UInt64 = 0
  /// Times the device was stopped and programmed from scratch.
  public var resets: UInt64 = 0

  public init() {}
}
