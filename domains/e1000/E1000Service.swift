/// The e1000 driver domain: the NetworkDevice interface over an Intel 82540EM (QEMU's
/// `-device e1000`).
///
/// A thin conformance: the device logic is the E1000 library (domains/lib/e1000), the
/// device access the trusted DeviceAccess library, and the buffers the device holds are
/// kept in ring order by `E1000NIC`. Every buffer moved in comes back in a later result
/// (NetworkDevice's ownership rules), except while the device holds it; if this domain
/// crashes, the kernel turns the device's DMA off before it frees them, and the next
/// instance stops the device and programs it from scratch.
import DeviceAccess
import E1000
import Packets
import SwiftletInterfaces
import SwiftletLib

final class E1000Service: NetworkDevice {
  /// nil if there is no usable device: nothing is received, and every frame sent comes
  /// back `.noDevice`.
  private let nic: E1000NIC?
  /// The longest a wait may last: well inside the call's time budget (2 s in the
  /// manifest), which a longer wait would run past. A caller wanting longer asks again.
  static let longestWait: UInt64 = 1_000_000_000

  init() {
    switch E1000NIC.start() {
    case .success(let nic):
      self.nic = nic
      let driver = nic.driver
      DomainKernel.log(
        "e1000: up, mac \(driver.mac), link \(driver.linkUp ? "up" : "down"), \(E1000NIC.ringSize) receive and \(E1000NIC.ringSize) transmit descriptors, ITR \(driver.interruptThrottle) (no throttling; QEMU keeps 128 us between interrupts unless mitigation=off), \(nic.device.usesMSIX ? "MSI-X" : "INTx")"
      )
    case .failure(let problem):
      nic = nil
      DomainKernel.log("e1000: no device: \(problem.message)")
    }
  }

  func info() -> Result<NetworkDeviceInfo, RpcError> {
    guard let driver = nic?.driver else {
      return .success(
        NetworkDeviceInfo(
          driver: .e1000, hasDevice: false, mac: .zero, linkUp: false,
          maximumFrameLength: UInt16(Driver.maximumFrameLength), receiveCapacity: 0,
          transmitCapacity: 0))
    }
    let layout = driver.layout
    return .success(
      NetworkDeviceInfo(
        driver: .e1000, hasDevice: true, mac: driver.mac, linkUp: driver.linkUp,
        maximumFrameLength: UInt16(Driver.maximumFrameLength),
        receiveCapacity: UInt16(layout.receiveRingSize - 1),
        transmitCapacity: UInt16(layout.transmitRingSize - 1)))
  }

  func counters() -> Result<NetworkDeviceCounters, RpcError> {
    var counters = NetworkDeviceCounters()
    guard let counted = nic?.driver.counters else { return .success(counters) }
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

  func receive(_ buffers: consuming PacketBatch) -> Result<PacketBatch, RpcError> {
    if let nic {
      nic.receive(buffers)
    } else {
      Self.mark(buffers, .empty)
    }
    return .success(buffers)
  }

  func transmit(_ frames: consuming PacketBatch) -> Result<PacketBatch, RpcError> {
    if let nic {
      nic.transmit(frames)
    } else {
      Self.mark(frames, .noDevice)
    }
    return .success(frames)
  }

  func waitForFrames(timeoutNanoseconds: UInt64) -> Result<Bool, RpcError> {
    let timeout = min(timeoutNanoseconds, Self.longestWait)
    guard let nic else {
      // Nothing will come; the caller is not made to spin.
      DomainThread.sleep(nanoseconds: timeout)
      return .success(false)
    }
    return .success(nic.waitForFrames(timeoutNanoseconds: timeout))
  }

  /// Gives every buffer in `batch` the same status.
  private static func mark(_ batch: borrowing PacketBatch, _ status: PacketStatus) {
    for _ in 0..<batch.count {
      guard let buffer = batch.popFront() else { return }
      buffer.update { $0.status = status }
      _ = batch.pushBack(buffer)
    }
  }
}
