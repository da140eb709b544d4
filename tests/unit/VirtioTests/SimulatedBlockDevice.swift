/// A virtio-blk device in software, for testing the driver end to end on the host.
///
/// It does what QEMU's device does, through the same memory a real one would use: one
/// BAR holding the common configuration, ISR, device configuration and notification
/// structures (its PCI configuration space says where), and the rings and buffers the
/// driver names by device address, found through `DeviceMemory`. The disk is a byte
/// array. Knobs make it refuse features, complete out of order, fail sectors, or break
/// the ring protocol in chosen ways.
import Registers
import Virtio

final class SimulatedBlockDevice {
  static let interruptBase = 0x1000
  static let configurationBase = 0x2000
  static let notificationBase = 0x3000
  static let notifyMultiplier: UInt32 = 4

  // MARK: Knobs

  var offered: VirtioFeatures = [.version1, .blockFlush, .blockSize, .blockSegmentMax, .ringPacked]
  /// Clears FEATURES_OK whatever the driver chose.
  var refusesFeatures = false
  var queueMaximum: UInt16 = 256
  var queueNotifyOffset: UInt16 = 3
  var completesOnNotify = true
  var completesInReverse = false
  var refusesVectors = false
  var neverFinishesReset = false
  /// Asks the driver not to notify (used ring flags).
  var suppressesNotifications = false
  /// Sectors whose reads and writes fail with IOERR.
  var failingSectors: Set<UInt64> = []
  /// Applied to the next completion only.
  var misbehaviour: Misbehaviour?
  /// Reads of the configuration generation that return a changed value, to test retries.
  var generationChanges = 0

  enum Misbehaviour {
    case usedID(UInt32)
    case extraLength(UInt32)
    case statusNotWritten
    case indexJump(UInt16)
  }

  // MARK: What the device saw

  private(set) var statusHistory: [UInt8] = []
  private(set) var notifications = 0
  private(set) var flushes = 0
  private(set) var requestsSeen = 0
  private(set) var acceptedFeatures: VirtioFeatures?

  // MARK: Memory

  let configurationSpace: ConfigurationSpace
  let bar = ObservedWindow(byteCount: 0x4000)
  let memory = DeviceMemory()
  var disk: [UInt8]

  private struct Queue {
    var enabled = false
    var size = 0
    var descriptors: UInt64 = 0
    var available: UInt64 = 0
    var used: UInt64 = 0
    var nextAvailable: UInt16 = 0
    var nextUsed: UInt16 = 0
  }
  private var queue = Queue()
  private var lastCompletion: (id: UInt32, length: UInt32)?
  private var driverFeatures: [UInt32] = [0, 0]

  init(
    sectors: Int = 1024, blockSize: UInt32 = 4096,
    configurationSpace: ConfigurationSpace = .qemuLike()
  ) {
    disk = (0..<sectors * 512).map { UInt8(truncatingIfNeeded: $0 / 512 &* 7 &+ $0) }
    self.configurationSpace = configurationSpace
    let configuration = Self.configurationBase
    bar.memory.store64(UInt64(sectors), at: configuration)
    bar.memory.store32(1, at: configuration + 0x0C)
    bar.memory.store32(blockSize, at: configuration + 0x14)
    bar.didStore = { [unowned self] offset in self.stored(at: offset) }
    bar.didLoad = { [unowned self] offset in self.loaded(at: offset) }
    reset()
  }

  /// The bytes of 4 KiB block `block` on the disk.
  func block(_ block: Int) -> [UInt8] { Array(disk[block * 4096..<(block + 1) * 4096]) }

  var status: DeviceStatus { DeviceStatus(raw: bar.memory.load8(at: 0x14)) }

  /// Sets DEVICE_NEEDS_RESET, as a device does after an internal error.
  func breakDown() {
    bar.memory.store8(status.raw | 0x40, at: 0x14)
    bar.memory.store8(bar.memory.load8(at: Self.interruptBase) | 2, at: Self.interruptBase)
  }

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
      if refusesVectors { common.store16(0xFFFF, at: offset) }
    case 0x1C:
      if common.load16(at: 0x16) == 0 && common.load16(at: 0x1C) == 1 { enableQueue() }
    case Self.notificationBase...:
      notifications += 1
      if completesOnNotify { process() }
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
    bar.memory.store16(1, at: 0x12)
    queue = Queue()
    driverFeatures = [0, 0]
    acceptedFeatures = nil
    showSelectedQueue()
  }

  private func showSelectedQueue() {
    let common = bar.memory
    let exists = common.load16(at: 0x16) == 0
    common.store16(exists ? (queue.enabled ? UInt16(queue.size) : queueMaximum) : 0, at: 0x18)
    common.store16(exists && queue.enabled ? 1 : 0, at: 0x1C)
    common.store16(exists ? queueNotifyOffset : 0, at: 0x1E)
  }

  private func enableQueue() {
    let common = bar.memory
    queue = Queue(
      enabled: true, size: Int(common.load16(at: 0x18)), descriptors: common.load64(at: 0x20),
      available: common.load64(at: 0x28), used: common.load64(at: 0x30))
    if suppressesNotifications { memory.store16(1, queue.used) }
  }

  // MARK: Requests

  /// Completes up to `limit` requests the driver has made available; how many it did.
  @discardableResult
  func process(limit: Int = .max) -> Int {
    guard queue.enabled else { return 0 }
    let published = memory.load16(queue.available + 2)
    var heads: [UInt16] = []
    while queue.nextAvailable != published && heads.count < limit {
      let slot = UInt64(Int(queue.nextAvailable) % queue.size)
      heads.append(memory.load16(queue.available + 4 + 2 * slot))
      queue.nextAvailable &+= 1
    }
    if completesInReverse { heads.reverse() }
    for head in heads { complete(head) }
    return heads.count
  }

  private struct Descriptor {
    let address: UInt64
    let length: Int
    let writable: Bool
  }

  private func chain(from head: UInt16) -> [Descriptor] {
    var descriptors: [Descriptor] = []
    var index = UInt64(head)
    for _ in 0..<queue.size {
      let at = queue.descriptors + 16 * index
      let flags = memory.load16(at + 12)
      descriptors.append(
        Descriptor(
          address: memory.load64(at), length: Int(memory.load32(at + 8)), writable: flags & 2 != 0))
      guard flags & 1 != 0 else { break }
      index = UInt64(memory.load16(at + 14))
    }
    return descriptors
  }

  private func complete(_ head: UInt16) {
    requestsSeen += 1
    let descriptors = chain(from: head)
    guard let header = descriptors.first, let statusBuffer = descriptors.last,
      descriptors.count >= 2, !header.writable, header.length == 16, statusBuffer.writable
    else { return }
    let type = memory.load32(header.address)
    let sector = memory.load64(header.address + 8)
    let data = descriptors.dropFirst().dropLast()
    var written: UInt32 = 0
    var status = VirtioBlockStatus.ok
    switch type {
    case 0, 1:
      var position = Int(sector) * 512
      for buffer in data {
        let sectors = UInt64(position / 512)...UInt64((position + buffer.length - 1) / 512)
        guard position + buffer.length <= disk.count, failingSectors.isDisjoint(with: sectors),
          buffer.writable == (type == 0), type == 0 || !offered.contains(.blockReadOnly)
        else {
          status = VirtioBlockStatus.ioError
          break
        }
        if type == 0 {
          _ = memory.write(Array(disk[position..<position + buffer.length]), to: buffer.address)
          written += UInt32(buffer.length)
        } else if let bytes = memory.read(buffer.address, count: buffer.length) {
          disk.replaceSubrange(position..<position + buffer.length, with: bytes)
        }
        position += buffer.length
      }
    case 4:
      flushes += 1
    default:
      status = VirtioBlockStatus.unsupported
    }
    let misbehaviour = self.misbehaviour
    self.misbehaviour = nil
    if case .statusNotWritten = misbehaviour {
    } else {
      memory.store8(status, statusBuffer.address)
      written += 1
    }
    var id = UInt32(head)
    switch misbehaviour {
    case .usedID(let bogus): id = bogus
    case .extraLength(let extra): written += extra
    case .indexJump(let jump): queue.nextUsed &+= jump
    default: break
    }
    publishUsed(id: id, length: written)
    lastCompletion = (id, written)
    bar.memory.store8(bar.memory.load8(at: Self.interruptBase) | 1, at: Self.interruptBase)
  }

  /// Completes the last request again, as a broken device might.
  func repeatLastCompletion() {
    if let lastCompletion { publishUsed(id: lastCompletion.id, length: lastCompletion.length) }
  }

  private func publishUsed(id: UInt32, length: UInt32) {
    let slot = UInt64(Int(queue.nextUsed) % queue.size)
    memory.store32(id, queue.used + 4 + 8 * slot)
    memory.store32(length, queue.used + 8 + 8 * slot)
    queue.nextUsed &+= 1
    memory.store16(queue.nextUsed, queue.used + 2)
  }
}
