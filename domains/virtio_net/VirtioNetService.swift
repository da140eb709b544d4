/// The virtio-net driver domain: the NetworkDevice interface over a virtio 1.x PCI NIC.
///
/// A thin conformance, as the block driver is: the device logic is the virtio library
/// (domains/lib/virtio), the device access the trusted DeviceAccess library, the
/// bookkeeping of which buffer the device holds under which id `VirtioNIC`. Buffers
/// move in the caller's deque and are DMA'd in place; each goes back with its status,
/// never while the device may still use it. A device that breaks the queue protocol, or
/// keeps a frame to send past the transmit watchdog's timeout, is reset by the library
/// before any buffer goes back, and set up again here, with the receive buffers it held
/// posted again and the frames it had not sent given back as `.deviceError`.
import DeviceAccess
import Packets
import SwiftletInterfaces
import SwiftletLib
import Virtio

final class VirtioNetService: NetworkDevice {
  /// The longest a wait lasts in one call: well inside the domain's call budget
  /// (domains/manifest.json), which counts the time a call waits. A caller waiting
  /// longer calls again.
  static let longestWait: UInt64 = 500_000_000

  /// nil if there is no usable device: then nothing is received and every frame to send
  /// comes back `.noDevice`.
  private var nic: VirtioNIC?

  init() {
    switch VirtioNIC.start() {
    case .success(let nic):
      self.nic = nic
      let driver = nic.driver
      DomainKernel.log(
        "virtio-net: up, MAC \(MACAddress(rawValue: driver.macAddress)), link \(driver.linkUp ? "up" : "down"), \(driver.receiveCapacity) receive and \(driver.transmitCapacity) transmit queue entries, \(nic.usesMSIX ? "MSI-X" : "INTx")"
      )
    case .failure(let problem):
      nic = nil
      DomainKernel.log("virtio-net: no device: \(problem.message)")
    }
  }

  func info() -> Result<NetworkDeviceInfo, RpcError> {
    guard let driver = nic?.driver else {
      return .success(
        NetworkDeviceInfo(
          driver: .virtioNet, hasDevice: false, mac: .zero, linkUp: false,
          maximumFrameLength: UInt16(EthernetFrameLength.maximum), receiveCapacity: 0,
          transmitCapacity: 0))
    }
    return .success(
      NetworkDeviceInfo(
        driver: .virtioNet, hasDevice: true, mac: MACAddress(rawValue: driver.macAddress),
        linkUp: driver.linkUp, maximumFrameLength: UInt16(EthernetFrameLength.maximum),
        receiveCapacity: UInt16(driver.receiveCapacity),
        transmitCapacity: UInt16(driver.transmitCapacity)))
  }

  func counters() -> Result<NetworkDeviceCounters, RpcError> {
    var counters = NetworkDeviceCounters()
    guard let driver = nic?.driver else { return .success(counters) }
    let counted = driver.counters
    counters.receivedFrames = counted.receivedFrames
    counters.receivedBytes = counted.receivedBytes
    counters.sentFrames = counted.sentFrames
    counters.sentBytes = counted.sentBytes
    counters.receiveErrors = counted.receiveErrors
    counters.transmitErrors = counted.transmitErrors
    counters.interrupts = counted.interrupts
    counters.resets = counted.resets
    return .success(counters)
  }

  func receive(_ buffers: consuming RRefDeque<PacketBuffer, 32>) -> Result<
    RRefDeque<PacketBuffer, 32>, RpcError
  > {
    guard let nic else {
      Self.mark(buffers, .empty)
      return .success(buffers)
    }
    // Each buffer is posted, or goes back to the end of the deque: frames taken out to
    // make room go there first, and once one buffer found no room, the rest go back
    // after it, so the frames come before the empty buffers.
    var unposted = 0
    for _ in 0..<buffers.count {
      guard let buffer = buffers.popFront() else { break }
      let refused: RRef<PacketBuffer>?
      if unposted == 0 {
        refused = nic.post(buffer, makingRoomIn: buffers)
      } else {
        refused = consume buffer
      }
      if let refused {
        unposted += 1
        refused.update {
          $0.status = .empty
          $0.length = 0
        }
        _ = buffers.pushBack(refused)
      }
    }
    nic.driver.publishReceive()
    // A test may plan a crash here, with buffers at the device and frames in hand.
    FaultInjection.checkpoint(.frameReceive)
    while unposted == 0, !buffers.isFull, let frame = nic.takeReceived() {
      _ = buffers.pushBack(frame)
    }
    restartIfStopped(nic)
    return .success(buffers)
  }

  func transmit(_ frames: consuming RRefDeque<PacketBuffer, 32>) -> Result<
    RRefDeque<PacketBuffer, 32>, RpcError
  > {
    guard let nic else {
      Self.mark(frames, .noDevice)
      return .success(frames)
    }
    let now = DomainKernel.nanoseconds
    for _ in 0..<frames.count {
      guard let frame = frames.popFront() else { break }
      if let refused = nic.send(frame, makingRoomIn: frames, at: now) {
        _ = frames.pushBack(refused)
      }
    }
    nic.driver.publishTransmit()
    // A test may plan a crash here, with frames at the device.
    FaultInjection.checkpoint(.frameTransmit)
    while !frames.isFull, let sent = nic.takeTransmitted() { _ = frames.pushBack(sent) }
    // Only once the device's finished frames are back: what is left has not moved.
    nic.driver.watchTransmit(now: now)
    restartIfStopped(nic)
    return .success(frames)
  }

  func waitForFrames(timeoutNanoseconds: UInt64) -> Result<Bool, RpcError> {
    let start = DomainKernel.nanoseconds
    let deadline = start &+ min(timeoutNanoseconds, Self.longestWait)
    while true {
      guard let nic else {
        DomainThread.sleep(nanoseconds: deadline &- min(DomainKernel.nanoseconds, deadline))
        return .success(false)
      }
      let now = DomainKernel.nanoseconds
      guard now < deadline else { return .success(nic.driver.frameReady) }
      if nic.waitForFrames(timeoutNanoseconds: deadline - now) { return .success(true) }
      // Unless a call that ran while this one waited set the device up again, the
      // time is up; otherwise wait on the new one for the rest.
      guard let current = self.nic, current !== nic else { return .success(false) }
    }
  }

  /// Sets the device up again if the library reset it for breaking the protocol.
  private func restartIfStopped(_ nic: VirtioNIC) {
    guard let reason = nic.driver.stopped else { return }
    DomainKernel.log("virtio-net: the device misbehaved (\(reason.message)); resetting it")
    // Swapped in, so that the old NIC is dropped after the access to `nic` ends.
    var restarted = nic.restarted()
    swap(&self.nic, &restarted)
  }

  /// Gives every buffer in `buffers` the same status (no device to hand them to).
  private static func mark(_ buffers: borrowing RRefDeque<PacketBuffer, 32>, _ status: PacketStatus)
  {
    for _ in 0..<buffers.count {
      guard let buffer = buffers.popFront() else { return }
      buffer.update { $0.status = status }
      _ = buffers.pushBack(buffer)
    }
  }
}
