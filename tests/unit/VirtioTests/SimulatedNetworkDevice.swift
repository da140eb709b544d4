/// A virtio-net device in software, for testing the driver end to end on the host.
///
/// The transport is `SimulatedVirtioDevice`'s; this adds receive queue 0, transmit
/// queue 1 and a MAC address, and behaves as QEMU 7.2's device does where that matters
/// to a driver: a frame goes into one receive buffer after a 12-byte header, and is
/// dropped silently if it does not fit (the buffer stays posted); frames
/// that come while no buffer is posted wait in the device until one is; sent frames
/// complete only when the test says (QEMU does it in a bottom half after the
/// notification); a transmit chain whose first descriptor is shorter than the header
/// breaks the device. Knobs make it break the ring protocol in chosen ways.
import Registers
import Virtio

final class SimulatedNetworkDevice: SimulatedVirtioDevice {
  static let mac: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]

  // MARK: Knobs

  /// Sends what was queued as soon as it is notified, instead of when `sendQueued` runs.
  var sendsOnNotify = false
  /// Applied to the next used entry of the queue it names only.
  var misbehaviour: (queue: Int, Misbehaviour)?
  /// Written into `num_buffers` of every received header: the driver must ignore it
  /// without VIRTIO_NET_F_MRG_RXBUF.
  var numBuffersGarbage: UInt16 = 0xBEEF

  enum Misbehaviour {
    /// Names this id instead of the buffer's.
    case usedID(UInt32)
    /// Says it wrote this many bytes.
    case length(UInt32)
    /// Moves the used index by this many more.
    case indexJump(UInt16)
  }

  // MARK: What the device saw

  /// Frames sent, without their headers.
  private(set) var sent: [[UInt8]] = []
  /// Headers of sent frames that were not all zero.
  private(set) var nonZeroHeaders = 0
  /// Frames dropped because they did not fit the receive buffer (QEMU says nothing).
  private(set) var droppedForShortBuffers = 0
  /// Set by a transmit chain that starts with less than a header.
  private(set) var broken = false
  /// Frames that came while no buffer was posted, oldest first.
  private(set) var waiting: [[UInt8]] = []

  init(configurationSpace: ConfigurationSpace = .qemuLike(deviceID: 0x1041)) {
    super.init(
      queueCount: 2,
      offered: [.version1, .networkMAC, .networkStatus, .networkChecksum, .networkControlQueue],
      configurationSpace: configurationSpace)
    bar.memory.write(Self.mac, at: Self.configurationBase)
    setLink(up: true)
  }

  func setLink(up: Bool) { bar.memory.store16(up ? 1 : 0, at: Self.configurationBase + 6) }

  override func didReset() { waiting = [] }

  override func notified(queue: Int) {
    switch queue {
    case 0: deliverWaiting()
    case 1 where sendsOnNotify: sendQueued()
    default: break
    }
  }

  // MARK: Receive

  /// A frame arriving from the wire: into the next posted buffer, or kept until there
  /// is one. Returns whether it went into a buffer now.
  @discardableResult
  func receive(_ frame: [UInt8]) -> Bool {
    waiting.append(frame)
    let before = waiting.count
    deliverWaiting()
    return waiting.count < before
  }

  private func deliverWaiting() {
    guard isRunning, !broken else { return }
    while !waiting.isEmpty, let head = takeAvailable(0, limit: 1).first {
      let frame = waiting.removeFirst()
      // Without mergeable buffers the whole frame must fit the chain; if it does not,
      // the frame is dropped and the chain stays posted.
      guard let buffer = chain(0, from: head).first, buffer.writable,
        buffer.length >= 12 + frame.count
      else {
        droppedForShortBuffers += 1
        returnAvailable(0)
        continue
      }
      var header = [UInt8](repeating: 0, count: 12)
      header[10] = UInt8(truncatingIfNeeded: numBuffersGarbage)
      header[11] = UInt8(truncatingIfNeeded: numBuffersGarbage >> 8)
      _ = memory.write(header + frame, to: buffer.address)
      complete(0, head: head, length: UInt32(12 + frame.count))
    }
  }

  // MARK: Transmit

  /// Sends every frame the driver queued, as QEMU's bottom half does after the
  /// notification; returns how many.
  @discardableResult
  func sendQueued() -> Int {
    guard isRunning, !broken else { return 0 }
    let heads = takeAvailable(1)
    for head in heads {
      let buffers = chain(1, from: head)
      guard let first = buffers.first, first.length >= 12, !first.writable else {
        broken = true
        return 0
      }
      var bytes: [UInt8] = []
      for buffer in buffers { bytes += memory.read(buffer.address, count: buffer.length) ?? [] }
      if bytes[0..<12].contains(where: { $0 != 0 }) { nonZeroHeaders += 1 }
      sent.append(Array(bytes[12...]))
      complete(1, head: head, length: 0)
    }
    return heads.count
  }

  private func complete(_ queue: Int, head: UInt16, length: UInt32) {
    var id = UInt32(head)
    var length = length
    var jump: UInt16 = 0
    if let (target, misbehaviour) = misbehaviour, target == queue {
      self.misbehaviour = nil
      switch misbehaviour {
      case .usedID(let bogus): id = bogus
      case .length(let bogus): length = bogus
      case .indexJump(let by): jump = by
      }
    }
    publishUsed(queue, id: id, length: length, jump: jump)
    if !interruptsSuppressed(queue) { raiseQueueInterrupt() }
  }
}
