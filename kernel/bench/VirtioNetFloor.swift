/// A modern virtio-net device (1af4:1041) as the echo floor drives it: two split
/// virtqueues, polled.
///
/// Only the minimum (shared NETWORK.md has the facts): the PCI capabilities say where
/// the common configuration, the notification area and the device configuration (the
/// MAC) lie; features VERSION_1 and MAC; a 12-byte header before every frame; queues of
/// 32 with no MSI-X vector and no interrupts asked for; free-running 16-bit indices.
/// Buffer i (2 KiB, more than the 1,526 bytes QEMU needs for a frame and its header) is
/// always receive descriptor i and transmit descriptor i: an answer goes out from the
/// buffer it came in, and the buffer goes back to the receive queue when the device has
/// used it for the transmit (in a bottom half, after the notification).
import PCI
import Packets

final class VirtioNetFloor: FloorNIC {
  private static let size = 32
  private static let bufferSize = 2048
  private static let headerSize = 12
  // Common configuration, virtio 1.x 4.1.4.3.
  private static let deviceFeatureSelect = 0x00
  private static let deviceFeature = 0x04
  private static let driverFeatureSelect = 0x08
  private static let driverFeature = 0x0C
  private static let configurationVector = 0x10
  private static let deviceStatus = 0x14
  private static let queueSelect = 0x16
  private static let queueSize = 0x18
  private static let queueVector = 0x1A
  private static let queueEnable = 0x1C
  private static let queueNotifyOffset = 0x1E
  private static let queueDescriptors = 0x20
  private static let queueDriver = 0x28
  private static let queueDevice = 0x30
  private static let noVector: UInt16 = 0xFFFF
  // Status bits.
  private static let acknowledge: UInt8 = 1
  private static let driver: UInt8 = 2
  private static let driverOK: UInt8 = 4
  private static let featuresOK: UInt8 = 8

  let mac: MACAddress
  private let common: FloorWindow
  private let memory: FloorFrames
  private let receiveNotify: FloorWindow
  private let transmitNotify: FloorWindow
  private var receiveAvailable: UInt16 = 0
  private var receiveUsed: UInt16 = 0
  private var transmitAvailable: UInt16 = 0
  private var transmitUsed: UInt16 = 0

  /// A virtio capability's place: its BAR's window at the capability's offset.
  private struct Structure {
    let window: FloorWindow
    let multiplier: UInt32
  }

  static func start(_ loan: FloorDevice) -> Result<VirtioNetFloor, FloorError> {
    var structures: [UInt8: Structure] = [:]
    let space = loan.device.space
    for capability in loan.device.function.capabilities
    where capability.id == CapabilityID.vendorSpecific {
      let type = space.read8(capability.offset + 3)
      guard structures[type] == nil,
        let bar = loan.memoryBAR(Int(space.read8(capability.offset + 4)))
      else { continue }
      let offset = Int(space.read32(capability.offset + 8))
      let multiplier = type == 2 ? space.read32(capability.offset + 16) : 0
      structures[type] = Structure(window: bar.advanced(by: offset), multiplier: multiplier)
    }
    guard let common = structures[1], let notify = structures[2], let device = structures[4] else {
      return .failure(FloorError("its PCI capabilities lack the common, notify or device area"))
    }
    // Queue q in frame q (descriptors, then the available ring at 512, the used at
    // 1024), then the buffers.
    guard let memory = FloorFrames(count: 2 + size * bufferSize / 4096) else {
      return .failure(FloorError("no memory for the queues"))
    }
    switch configure(common.window, memory) {
    case .failure(let error):
      common.window.store(UInt8(0), deviceStatus)
      memory.free()
      return .failure(error)
    case .success(let notifyOffsets):
      func notifyWindow(_ queue: Int) -> FloorWindow {
        notify.window.advanced(by: Int(notifyOffsets[queue]) * Int(notify.multiplier))
      }
      return .success(
        VirtioNetFloor(
          common: common.window, device: device.window, memory: memory,
          receiveNotify: notifyWindow(0), transmitNotify: notifyWindow(1)))
    }
  }

  /// Resets the device, agrees on VERSION_1 and MAC, and sets up both queues; returns
  /// each queue's notification offset.
  private static func configure(_ common: FloorWindow, _ memory: FloorFrames) -> Result<
    [UInt16], FloorError
  > {
    common.store(UInt8(0), deviceStatus)
    var spins = 0
    while common.load8(deviceStatus) != 0 && spins < 1_000_000 { spins += 1 }
    common.store(acknowledge | driver, deviceStatus)
    common.store(UInt32(0), deviceFeatureSelect)
    let low = common.load32(deviceFeature)
    common.store(UInt32(1), deviceFeatureSelect)
    let high = common.load32(deviceFeature)
    let macFeature: UInt32 = 1 << 5
    let version1: UInt32 = 1  // feature 32
    guard low & macFeature != 0, high & version1 != 0 else {
      return .failure(FloorError("it offers no VERSION_1 with MAC"))
    }
    common.store(UInt32(0), driverFeatureSelect)
    common.store(macFeature, driverFeature)
    common.store(UInt32(1), driverFeatureSelect)
    common.store(version1, driverFeature)
    common.store(acknowledge | driver | featuresOK, deviceStatus)
    guard common.load8(deviceStatus) & featuresOK != 0 else {
      return .failure(FloorError("it refused VERSION_1 with MAC"))
    }
    common.store(noVector, configurationVector)
    var notifyOffsets: [UInt16] = []
    for queue in 0..<2 {
      common.store(UInt16(queue), queueSelect)
      guard Int(common.load16(queueSize)) >= size else {
        return .failure(FloorError("queue \(queue) holds fewer than \(size) buffers"))
      }
      common.store(UInt16(size), queueSize)
      common.store(noVector, queueVector)
      let base = memory.address + UInt64(4096 * queue)
      store64(common, base, queueDescriptors)
      store64(common, base + 512, queueDriver)
      store64(common, base + 1024, queueDevice)
      memory.window.store(UInt16(1), 4096 * queue + 512)  // no interrupts, please
      notifyOffsets.append(common.load16(queueNotifyOffset))
      common.store(UInt16(1), queueEnable)
    }
    return .success(notifyOffsets)
  }

  /// A 64-bit field as two 32-bit halves, which the specification allows.
  private static func store64(_ window: FloorWindow, _ value: UInt64, _ offset: Int) {
    window.store(UInt32(truncatingIfNeeded: value), offset)
    window.store(UInt32(truncatingIfNeeded: value >> 32), offset + 4)
  }

  private init(
    common: FloorWindow, device: FloorWindow, memory: FloorFrames, receiveNotify: FloorWindow,
    transmitNotify: FloorWindow
  ) {
    self.common = common
    self.memory = memory
    self.receiveNotify = receiveNotify
    self.transmitNotify = transmitNotify
    var raw: UInt64 = 0
    for index in 0..<6 { raw = raw << 8 | UInt64(device.load8(index)) }
    mac = MACAddress(rawValue: raw)
    let writable: UInt16 = 2
    for index in 0..<Self.size {
      let address = buffer(index).base
      let receive = descriptor(queue: 0, index)
      receive.store(address, 0)
      receive.store(UInt32(Self.bufferSize), 8)
      receive.store(writable, 12)
      descriptor(queue: 1, index).store(address, 0)
    }
    common.store(
      Self.acknowledge | Self.driver | Self.featuresOK | Self.driverOK, Self.deviceStatus)
    for index in 0..<Self.size { postReceive(index) }
    publishReceives()
  }

  func poll(_ answer: (FloorWindow, Int) -> Int) -> Int {
    var taken = 0
    var sent = 0
    var reposted = 0
    let receivedUpTo = ring(0).load16(1024 + 2)
    while receiveUsed != receivedUpTo && taken < Self.size {
      let (index, length) = used(queue: 0, receiveUsed)
      receiveUsed &+= 1
      taken += 1
      guard index < Self.size else { continue }  // not a buffer of ours: lost
      let frame = buffer(index).advanced(by: Self.headerSize)
      let reply = length > Self.headerSize ? answer(frame, length - Self.headerSize) : 0
      if reply > 0 {
        // The header goes out as zeros: no checksum offload, no segmentation.
        buffer(index).store(UInt64(0), 0)
        buffer(index).store(UInt32(0), 8)
        descriptor(queue: 1, index).store(UInt32(Self.headerSize + reply), 8)
        let slot = Int(transmitAvailable % UInt16(Self.size))
        ring(1).store(UInt16(index), 512 + 4 + 2 * slot)
        transmitAvailable &+= 1
        sent += 1
      } else {
        postReceive(index)
        reposted += 1
      }
    }
    if sent > 0 {
      ring(1).store(transmitAvailable, 512 + 2)
      transmitNotify.store(UInt16(1), 0)
    }
    let transmittedUpTo = ring(1).load16(1024 + 2)
    while transmitUsed != transmittedUpTo {
      let (index, _) = used(queue: 1, transmitUsed)
      transmitUsed &+= 1
      guard index < Self.size else { continue }
      postReceive(index)
      reposted += 1
    }
    if reposted > 0 { publishReceives() }
    return taken
  }

  func stop() {
    common.store(UInt8(0), Self.deviceStatus)
    var spins = 0
    while common.load8(Self.deviceStatus) != 0 && spins < 1_000_000 { spins += 1 }
    memory.free()
  }

  /// Queues buffer `index` for receive; the device sees it at `publishReceives`.
  private func postReceive(_ index: Int) {
    let slot = Int(receiveAvailable % UInt16(Self.size))
    ring(0).store(UInt16(index), 512 + 4 + 2 * slot)
    receiveAvailable &+= 1
  }

  private func publishReceives() {
    ring(0).store(receiveAvailable, 512 + 2)
    receiveNotify.store(UInt16(0), 0)
  }

  /// Used element `position` of `queue`: the head descriptor and the bytes written.
  private func used(queue: Int, _ position: UInt16) -> (Int, Int) {
    let element = ring(queue).advanced(by: 1024 + 4 + 8 * Int(position % UInt16(Self.size)))
    return (Int(element.load32(0)), Int(element.load32(4)))
  }

  private func ring(_ queue: Int) -> FloorWindow { memory.window.advanced(by: 4096 * queue) }

  private func descriptor(queue: Int, _ index: Int) -> FloorWindow {
    ring(queue).advanced(by: 16 * index)
  }

  private func buffer(_ index: Int) -> FloorWindow {
    memory.window.advanced(by: 8192 + Self.bufferSize * index)
  }
}
