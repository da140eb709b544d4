/// A modern virtio PCI device in software, the transport half: what every simulated
/// device type (SimulatedBlockDevice, SimulatedNetworkDevice) shares.
///
/// It does what QEMU's virtio-pci does, through the same memory a real device would use:
/// one BAR holding the common configuration, ISR, device configuration and notification
/// structures (its PCI configuration space says where), and rings the driver names by
/// device address, found through `DeviceMemory`. A subclass handles notifications and
/// fills the device configuration. Knobs make it refuse features, vectors or a reset.
import Registers
import Virtio

class SimulatedVirtioDevice {
  static let interruptBase = 0x1000
  static let configurationBase = 0x2000
  static let notificationBase = 0x3000
  static let notifyMultiplier: UInt32 = 4

  // MARK: Knobs

  var offered: VirtioFeatures
  /// Clears FEATURES_OK whatever the driver chose.
  var refusesFeatures = false
  var queueMaximum: UInt16 = 256
  /// Queue `n`'s notification offset is this plus `n`, in units of the multiplier.
  var queueNotifyOffset: UInt16 = 3
  var refusesVectors = false
  /// Refuses queue vectors only (the configuration vector is taken).
  var refusesQueueVectors = false
  var neverFinishesReset = false
  /// Asks the driver not to notify (used ring flags).
  var suppressesNotifications = false
  /// Reads of the configuration generation that return a changed value, to test retries.
  var generationChanges = 0

  // MARK: What the device saw

  private(set) var statusHistory: [UInt8] = []
  /// Whether the driver has written a queue's ring addresses (since the device was made).
  private(set) var queueAddressesWritten = false
  private(set) var notifications = 0
  private(set) var acceptedFeatures: VirtioFeatures?
  /// Queue interrupts raised (the ISR's queue bit set), whether or not the driver
  /// asked for them.
  private(set) var queueInterrupts = 0

  // MARK: Memory

  let configurationSpace: ConfigurationSpace
  let bar = ObservedWindow(byteCount: 0x4000)
  let memory = DeviceMemory()

  struct Queue {
    var enabled = false
    var size = 0
    var vector: UInt16 = 0xFFFF
    var descriptors: UInt64 = 0
    var available: UInt64 = 0
    var used: UInt64 = 0
    var nextAvailable: UInt16 = 0
    var nextUsed: UInt16 = 0
  }
  private(set) var queues: [Queue]
  private var driverFeatures: [UInt32] = [0, 0]

  init(queueCount: Int, offered: VirtioFeatures, configurationSpace: ConfigurationSpace) {
    self.offered = offered
    self.configurationSpace = configurationSpace
    queues = [Queue](repeating: Queue(), count: queueCount)
    bar.didStore = { [unowned self] offset in self.stored(at: offset) }
    bar.didLoad = { [unowned self] offset in self.loaded(at: offset) }
    reset()
  }

  var status: DeviceStatus { DeviceStatus(raw: bar.memory.load8(at: 0x14)) }

  /// Whether the driver has set DRIVER_OK since the last reset.
  var isRunning: Bool { status[.driverOK] }

  /// Whether the driver gave up on the device (FAILED) and then reset it, so that it
  /// holds no queue: what a set-up that fails must leave.
  var wasAbandoned: Bool {
    let failed = statusHistory.lastIndex { $0 & 0x80 != 0 }
    let reset = statusHistory.lastIndex(of: 0)
    guard let failed, let reset else { return false }
    return failed < reset && status.raw == 0 && queues.allSatisfy { !$0.enabled }
  }

  /// Sets DEVICE_NEEDS_RESET, as a device does after an internal error.
  func breakDown() {
    bar.memory.store8(status.raw | 0x40, at: 0x14)
    bar.memory.store8(bar.memory.load8(at: Self.interruptBase) | 2, at: Self.interruptBase)
  }

  // MARK: What a device type does

  /// The driver notified queue `queue`.
  func notified(queue: Int) {}

  /// The device was reset: it forgets everything the driver gave it.
  func didReset() {}

  // MARK: Registers

  private func stored(at offset: Int) {
    let common = bar.memory
    switch offset {
    case 0x00:
      let select = common.load32(at: 0x00)
      common.store32(select == 0 ? offered.low : select == 1 ? offered.high : 0, at: 0x04)
    case 0x0C:
      let select = Int(common.load32(at: 0x08))
      if select < 2 { driverFeatures[select] = common.load32(at: 0x0C) }
    case 0x14:
      let status = common.load8(at: 0x14)
      statusHistory.append(status)
      if status == 0 {
        if neverFinishesReset { common.store8(1, at: 0x14) } else { reset() }
      } else if status & 0x08 != 0 && acceptedFeatures == nil {
        let chosen = VirtioFeatures(low: driverFeatures[0], high: driverFeatures[1])
        acceptedFeatures = chosen
        if refusesFeatures || !offered.isSuperset(of: chosen) {
          common.store8(status & ~0x08, at: 0x14)
        }
      }
    case 0x16: showSelectedQueue()
    case 0x10, 0x1A:
      if refusesVectors || (offset == 0x1A && refusesQueueVectors) {
        common.store16(0xFFFF, at: offset)
      }
    case 0x20...0x37:
      queueAddressesWritten = true
    case 0x1C:
      let select = Int(common.load16(at: 0x16))
      if select < queues.count && common.load16(at: 0x1C) == 1 { enableQueue(select) }
    case Self.notificationBase...:
      notifications += 1
      notified(queue: Int(bar.memory.load16(at: offset)))
    default: break
    }
  }

  private func loaded(at offset: Int) {
    switch offset {
    case 0x15 where generationChanges > 0:
      generationChanges -= 1
      bar.memory.store8(bar.memory.load8(at: 0x15) &+ 1, at: 0x15)
    case Self.interruptBase:
      bar.memory.store8(0, at: Self.interruptBase)
    default: break
    }
  }

  private func reset() {
    for offset in stride(from: 0, to: 0x40, by: 4) { bar.memory.store32(0, at: offset) }
    bar.memory.store16(UInt16(queues.count), at: 0x12)
    queues = [Queue](repeating: Queue(), count: queues.count)
    driverFeatures = [0, 0]
    acceptedFeatures = nil
    showSelectedQueue()
    didReset()
  }

  private func showSelectedQueue() {
    let common = bar.memory
    let select = Int(common.load16(at: 0x16))
    let exists = select < queues.count
    let queue = exists ? queues[select] : Queue()
    common.store16(exists ? (queue.enabled ? UInt16(queue.size) : queueMaximum) : 0, at: 0x18)
    common.store16(queue.enabled ? 1 : 0, at: 0x1C)
    common.store16(exists ? queueNotifyOffset &+ UInt16(select) : 0, at: 0x1E)
    common.store16(queue.vector, at: 0x1A)
  }

  private func enableQueue(_ index: Int) {
    let common = bar.memory
    queues[index] = Queue(
      enabled: true, size: Int(common.load16(at: 0x18)), vector: common.load16(at: 0x1A),
      descriptors: common.load64(at: 0x20), available: common.load64(at: 0x28),
      used: common.load64(at: 0x30))
    if suppressesNotifications { memory.store16(1, queues[index].used) }
  }

  // MARK: Rings

  /// Up to `limit` heads the driver has made available on `queue`, taken.
  func takeAvailable(_ queue: Int, limit: Int = .max) -> [UInt16] {
    guard queues[queue].enabled else { return [] }
    let published = memory.load16(queues[queue].available + 2)
    var heads: [UInt16] = []
    while queues[queue].nextAvailable != published && heads.count < limit {
      let slot = UInt64(Int(queues[queue].nextAvailable) % queues[queue].size)
      heads.append(memory.load16(queues[queue].available + 4 + 2 * slot))
      queues[queue].nextAvailable &+= 1
    }
    return heads
  }

  /// Gives the last head taken from `queue` back, as QEMU's `virtqueue_unpop` does.
  func returnAvailable(_ queue: Int) { queues[queue].nextAvailable &-= 1 }

  /// Heads published on `queue` that the device has not taken yet.
  func availableCount(_ queue: Int) -> Int {
    guard queues[queue].enabled else { return 0 }
    return Int(memory.load16(queues[queue].available + 2) &- queues[queue].nextAvailable)
  }

  struct Descriptor: Equatable {
    let address: UInt64
    let length: Int
    let writable: Bool
  }

  /// The descriptors of the chain at `head` on `queue`.
  func chain(_ queue: Int, from head: UInt16) -> [Descriptor] {
    var descriptors: [Descriptor] = []
    var index = UInt64(head)
    for _ in 0..<queues[queue].size {
      let at = queues[queue].descriptors + 16 * index
      let flags = memory.load16(at + 12)
      descriptors.append(
        Descriptor(
          address: memory.load64(at), length: Int(memory.load32(at + 8)), writable: flags & 2 != 0))
      guard flags & 1 != 0 else { break }
      index = UInt64(memory.load16(at + 14))
    }
    return descriptors
  }

  /// Puts `id` with `length` in `queue`'s used ring and publishes it; moves the index
  /// by `jump` more, as a broken device might.
  func publishUsed(_ queue: Int, id: UInt32, length: UInt32, jump: UInt16 = 0) {
    let used = queues[queue].used
    let slot = UInt64(Int(queues[queue].nextUsed) % queues[queue].size)
    memory.store32(id, used + 4 + 8 * slot)
    memory.store32(length, used + 8 + 8 * slot)
    queues[queue].nextUsed &+= 1 &+ jump
    memory.store16(queues[queue].nextUsed, used + 2)
  }

  /// Whether the driver asks `queue` not to interrupt (its available ring's flags).
  func interruptsSuppressed(_ queue: Int) -> Bool {
    queues[queue].enabled && memory.load16(queues[queue].available) & 1 != 0
  }

  /// Sets the ISR's queue bit, as the device does when it uses buffers.
  func raiseQueueInterrupt() {
    queueInterrupts += 1
    bar.memory.store8(bar.memory.load8(at: Self.interruptBase) | 1, at: Self.interruptBase)
  }
}
