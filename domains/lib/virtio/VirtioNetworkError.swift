/// Why a virtio-net driver could not set its device up, refused a buffer, or reset the
/// device.
public enum VirtioNetworkError: Error, Equatable, Sendable {
  /// Finding or setting up the device failed.
  case transport(VirtioError)
  /// A receive buffer is shorter than a header and the longest frame (QEMU would drop
  /// every frame that comes into it, silently), or longer than 64 KiB.
  case badBufferLength(Int)
  /// A frame to send is shorter than an Ethernet header or longer than the device
  /// takes (without offloads, 1514 bytes).
  case badFrameLength(Int)
  /// No descriptor free in the queue: take finished buffers back first.
  case queueFull
  /// The device broke the ring protocol on one of its queues; it was reset and holds
  /// no buffer.
  case deviceMisbehaved(NetworkQueue, VirtQueueError)
  /// A frame stayed at the device past `transmitTimeout` (the transmit queue stopped
  /// moving); the device was reset and holds no buffer.
  case transmitStalled

  /// What went wrong, in words, for a log line; fixed text, so it never allocates.
  public var message: String {
    switch self {
    case .transport(let error): error.message
    case .badBufferLength:
      "virtio-net receive buffer shorter than a header and a full frame, or over 64 KiB"
    case .badFrameLength:
      "virtio-net frame shorter than an Ethernet header or longer than 1514 bytes"
    case .queueFull: "virtio-net queue full"
    case .deviceMisbehaved(_, let error): error.message
    case .transmitStalled: "virtio-net device did not send a frame in time"
    }
  }
}

/// A virtio-net queue: receive is queue 0, transmit queue 1 (spec 5.1.2).
public enum NetworkQueue: UInt16, Equatable, Sendable {
  case receive = 0
  case transmit = 1
}
