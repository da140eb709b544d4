/// The NIC this domain drives: its device found, mapped and started, the packet buffers
/// the device holds, and the moves of buffers between the caller's deques and the
/// device's queues.
///
/// Bring-up follows the virtio 1.x PCI transport: identify the function (refusing a
/// transitional one by name), find and map its structures, then let the driver core
/// (domains/lib/virtio) reset the device, negotiate features and set up the receive and
/// transmit queues in DMA memory from the shared heap. Buffers are DMA'd in place: the
/// device gets the last 12 bytes of a PacketBuffer's `deviceHeader` and its `frame` as
/// one run, which the shared heap keeps contiguous.
import DeviceAccess
import Packets
import Registers
import SwiftletInterfaces
import SwiftletLib
import Virtio

/// The windows of one virtio device: slices of its memory BARs.
typealias DeviceWindow = WindowSlice<MMIOWindow>
typealias NetworkDriver = VirtioNetworkDevice<DeviceWindow, DMABuffer>

final class VirtioNIC {
  /// Entries per queue the driver asks for (QEMU offers 256): as many buffers posted for
  /// receive, and frames in flight, at most.
  static let queueSize = 128
  /// Where the device's run starts in a PacketBuffer: the last 12 bytes of its header room.
  static let runOffset = PacketBuffer.frameOffset - VirtioNetworkHeader.byteCount

  let device: Device
  let driver: NetworkDriver
  /// MSI-X tells the interrupt's cause by itself; INTx needs the ISR read, which lowers
  /// the line.
  let usesMSIX: Bool
  private let receiveSlots: PacketSlots
  private let transmitSlots: PacketSlots
  /// Frames a reset took from the device before it sent them: given back, `.deviceError`,
  /// by the next transmits, from `nextUnsent` on.
  private let unsent: [PacketSlot]
  private var nextUnsent = 0

  private init(
    device: Device, driver: NetworkDriver, usesMSIX: Bool, unsent: [PacketSlot] = []
  ) {
    self.device = device
    self.driver = driver
    self.usesMSIX = usesMSIX
    receiveSlots = PacketSlots(count: driver.receiveCapacity)
    transmitSlots = PacketSlots(count: driver.transmitCapacity)
    self.unsent = unsent
  }

  /// Finds, maps and starts the NIC, or says in words why there is none.
  static func start() -> Result<VirtioNIC, NICProblem> {
    let device: Device
    switch Device.claim() {
    case .success(let claimed): device = claimed
    case .failure(.notFound):
      return .failure(
        NICProblem(
          "no virtio-net device is attached (QEMU: -device virtio-net-pci,disable-legacy=on)"))
    case .failure(let error): return .failure(NICProblem("\(error.message)"))
    }
    let config = PCIConfigurationReader { device.configRead(at: $0, width: $1) }
    let transport: VirtioPCITransport<DeviceWindow>
    do {
      let identity = try VirtioPCIIdentity(reading: config)
      guard identity.deviceType == VirtioPCIIdentity.networkDeviceType else {
        return .failure(
          NICProblem("the device is virtio type \(identity.deviceType), not a network device"))
      }
      guard !identity.isTransitional else {
        let id = String(config.read16(at: 2), radix: 16)
        return .failure(
          NICProblem(
            "refusing the transitional (legacy) virtio-net device 1af4:\(id): this driver takes modern devices only; give QEMU -device virtio-net-pci,disable-legacy=on"
          ))
      }
      transport = try VirtioPCITransport(reading: config) { device.bar($0) }
      // A crashed instance may have left the device holding its queues, in memory the
      // kernel has freed: reset it before it may reach memory again.
      try transport.reset()
    } catch {
      return .failure(NICProblem(error.message))
    }
    guard device.startDMA() else {
      return .failure(NICProblem("the kernel refuses the device DMA"))
    }
    let memoryBytes = NetworkDriver.memoryByteCount(queueSize: queueSize)
    guard let memory = DMABuffer(byteCount: memoryBytes) else {
      return .failure(NICProblem("no shared memory for the queues"))
    }
    let usesMSIX = device.usesMSIX
    do {
      let driver = try NetworkDriver(
        transport: transport, memory: memory, maximumQueueSize: queueSize,
        queueVector: usesMSIX ? 0 : VirtioCommonConfiguration<DeviceWindow>.noVector)
      return .success(VirtioNIC(device: device, driver: driver, usesMSIX: usesMSIX))
    } catch {
      return .failure(NICProblem(error.message))
    }
  }

  /// A NIC on the same device after `driver` reset it for breaking the protocol: a new
  /// driver on the same transport and memory, the receive buffers posted again, the
  /// unsent frames waiting to go back. Nil if the device cannot be set up again (the
  /// buffers are then freed: the caller posts new ones).
  func restarted() -> VirtioNIC? {
    let fresh: NetworkDriver
    do {
      fresh = try NetworkDriver(
        transport: driver.transport, memory: driver.memory, maximumQueueSize: Self.queueSize,
        queueVector: usesMSIX ? 0 : VirtioCommonConfiguration<DeviceWindow>.noVector,
        counters: driver.counters)
    } catch {
      DomainKernel.log("virtio-net: the device does not start again: \(error.message)")
      return nil
    }
    // What an earlier reset left to give back goes first.
    var unsent = Array(self.unsent[nextUnsent...])
    for slot in transmitSlots.slots {
      guard let buffer = slot.buffer.take() else { continue }
      buffer.update { $0.status = .deviceError }
      unsent.append(PacketSlot(holding: buffer))
    }
    let nic = VirtioNIC(device: device, driver: fresh, usesMSIX: usesMSIX, unsent: unsent)
    for slot in receiveSlots.slots {
      guard let buffer = slot.buffer.take() else { continue }
      _ = nic.post(buffer)
    }
    nic.driver.publishReceive()
    return nic
  }

  // MARK: Receive

  /// Posts `buffer` for receive; if the queue is full, first takes one filled buffer out
  /// into `frames` (which has room for one), so that a caller always gets its frames.
  /// Gives `buffer` back if there is still no room, or the device is stopped.
  func post(
    _ buffer: consuming RRef<PacketBuffer>,
    makingRoomIn frames: borrowing RRefDeque<PacketBuffer, 32>
  ) -> RRef<PacketBuffer>? {
    while driver.receiveRoom == 0, !frames.isFull, let frame = takeReceived() {
      _ = frames.pushBack(frame)
    }
    return post(buffer)
  }

  /// Posts `buffer` if there is room; gives it back if not.
  private func post(_ buffer: consuming RRef<PacketBuffer>) -> RRef<PacketBuffer>? {
    guard driver.receiveRoom > 0,
      let run = buffer.dmaRegion?.subregion(
        at: Self.runOffset, count: VirtioNetworkHeader.byteCount + FrameBytes.count),
      let id = try? driver.postReceive(run)
    else { return consume buffer }
    receiveSlots.put(buffer, at: id)
    return nil
  }

  /// The next buffer holding a frame, its length and status set; nil if there is none
  /// (or the device broke the protocol: it is reset, and the caller restarts it). A
  /// buffer the device filled with less than a frame is posted again.
  ///
  /// Each frame's completion passes `FaultPoint.frameCompletion`, where a fault campaign
  /// may plan a bogus completion (the library refuses it and resets the device) or a
  /// wrong result (one byte past the Ethernet header flipped, and the frame delivered).
  func takeReceived() -> RRef<PacketBuffer>? {
    while true {
      let fault = driver.frameReady ? FaultInjection.simulatedFault(at: .frameCompletion) : nil
      if fault == .bogusCompletion { driver.simulateBogusCompletion(on: .receive) }
      guard let received = try? driver.takeReceived(), let buffer = receiveSlots.take(received.id)
      else { return nil }
      guard let length = received.frameLength else {
        // Its place in the queue is free, so it goes back there, unless the device
        // stopped meanwhile: then it goes back to the caller, empty.
        guard let refused = post(buffer) else { continue }
        refused.update {
          $0.length = 0
          $0.status = .empty
        }
        return consume refused
      }
      let flipped = fault == .wrongResult ? wrongByte(in: length) : nil
      buffer.update {
        $0.length = UInt16(length)
        $0.status = .received
        if let flipped { $0.frame[flipped] ^= 0xFF }
      }
      return consume buffer
    }
  }

  /// Which byte a planned wrong result flips in a frame of `length` bytes: one past the
  /// Ethernet header, a different one from frame to frame; nil if there is none.
  private func wrongByte(in length: Int) -> Int? {
    guard length > EthernetFrameLength.minimum else { return nil }
    let past = UInt64(length - EthernetFrameLength.minimum)
    return EthernetFrameLength.minimum + Int(driver.counters.receivedFrames % past)
  }

  // MARK: Transmit

  /// Hands `frame` to the device if it can take it, making room by taking a sent one out
  /// into `done` (which has room for one) if the queue is full; `now` is when, for the
  /// transmit watchdog. Gives `frame` back with its status if it was not taken:
  /// `.badLength`, `.empty` (no room) or `.deviceError`.
  func send(
    _ frame: consuming RRef<PacketBuffer>, makingRoomIn done: borrowing RRefDeque<PacketBuffer, 32>,
    at now: UInt64
  ) -> RRef<PacketBuffer>? {
    // The header says "no offload"; a longer length than the frame holds is sent as a
    // frame too long, which the library refuses.
    let length = frame.update {
      $0.deviceHeader = InlineArray(repeating: 0)
      return min(Int($0.length), FrameBytes.count)
    }
    while driver.transmitRoom == 0, !done.isFull, let sent = takeSent() {
      _ = done.pushBack(sent)
    }
    guard
      let run = frame.dmaRegion?.subregion(
        at: Self.runOffset, count: VirtioNetworkHeader.byteCount + length)
    else {
      frame.update { $0.status = .deviceError }
      return consume frame
    }
    do throws(VirtioNetworkError) {
      let id = try driver.queueTransmit(run, at: now)
      transmitSlots.put(frame, at: id)
      return nil
    } catch {
      let status: PacketStatus
      switch error {
      case .badFrameLength: status = .badLength
      case .queueFull: status = .empty
      default: status = .deviceError
      }
      frame.update { $0.status = status }
      return consume frame
    }
  }

  /// The next buffer a reset took back unsent, or else the next one the device has sent,
  /// status `.sent`; nil if there is none.
  func takeTransmitted() -> RRef<PacketBuffer>? {
    while nextUnsent < unsent.count {
      let slot = unsent[nextUnsent]
      nextUnsent += 1
      if let buffer = slot.buffer.take() { return consume buffer }
    }
    return takeSent()
  }

  /// The next buffer the device has sent, its place in the queue free again. Each
  /// completion passes `FaultPoint.transmitCompletion`, where a fault campaign may plan a
  /// lost one: the library forgets it and keeps the frame, and the transmit watchdog
  /// resets the device.
  private func takeSent() -> RRef<PacketBuffer>? {
    let losing = { FaultInjection.simulatedFault(at: .transmitCompletion) == .lostCompletion }
    guard let id = try? driver.takeTransmitted(losing: losing), let buffer = transmitSlots.take(id)
    else {
      return nil
    }
    buffer.update { $0.status = .sent }
    return consume buffer
  }

  // MARK: Waiting

  /// Whether a frame is ready, waiting for the device's interrupt for at most
  /// `timeoutNanoseconds`. The domain is free while it waits.
  func waitForFrames(timeoutNanoseconds: UInt64) -> Bool {
    let device = self.device
    let driver = self.driver
    let usesMSIX = self.usesMSIX
    return driver.waitForFrames(
      timeoutNanoseconds: timeoutNanoseconds, clock: { DomainKernel.nanoseconds },
      wait: { nanoseconds in
        guard let outcome = device.waitForInterrupt(timeoutNanoseconds: nanoseconds) else {
          // No interrupt to wait for: look again in a millisecond.
          DomainThread.sleep(nanoseconds: min(nanoseconds, 1_000_000))
          return true
        }
        if !usesMSIX { _ = driver.interruptArrived() }
        return outcome == .interrupted
      })
  }
}

/// Why the domain has no NIC, for the log.
struct NICProblem: Error {
  let message: String
  init(_ message: String) { self.message = message }
}
