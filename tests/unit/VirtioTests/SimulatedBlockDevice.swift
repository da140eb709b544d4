/// A virtio-blk device in software, for testing the driver end to end on the host.
///
/// The transport is `SimulatedVirtioDevice`'s; this adds one request queue and a disk
/// that is a byte array. Knobs make it complete out of order, fail sectors, or break
/// the ring protocol in chosen ways.
import Registers
import Virtio

final class SimulatedBlockDevice: SimulatedVirtioDevice {
  // MARK: Knobs

  var completesOnNotify = true
  var completesInReverse = false
  /// Sectors whose reads and writes fail with IOERR.
  var failingSectors: Set<UInt64> = []
  /// Applied to the next completion only.
  var misbehaviour: Misbehaviour?

  enum Misbehaviour {
    case usedID(UInt32)
    case extraLength(UInt32)
    case statusNotWritten
    case indexJump(UInt16)
  }

  // MARK: What the device saw

  private(set) var flushes = 0
  private(set) var requestsSeen = 0

  var disk: [UInt8]
  private var lastCompletion: (id: UInt32, length: UInt32)?

  init(
    sectors: Int = 1024, blockSize: UInt32 = 4096,
    configurationSpace: ConfigurationSpace = .qemuLike()
  ) {
    disk = (0..<sectors * 512).map { UInt8(truncatingIfNeeded: $0 / 512 &* 7 &+ $0) }
    super.init(
      queueCount: 1, offered: [.version1, .blockFlush, .blockSize, .blockSegmentMax, .ringPacked],
      configurationSpace: configurationSpace)
    let configuration = Self.configurationBase
    bar.memory.store64(UInt64(sectors), at: configuration)
    bar.memory.store32(1, at: configuration + 0x0C)
    bar.memory.store32(blockSize, at: configuration + 0x14)
  }

  /// The bytes of 4 KiB block `block` on the disk.
  func block(_ block: Int) -> [UInt8] { Array(disk[block * 4096..<(block + 1) * 4096]) }

  override func notified(queue: Int) {
    if completesOnNotify { process() }
  }

  // MARK: Requests

  /// Completes up to `limit` requests the driver has made available; how many it did.
  @discardableResult
  func process(limit: Int = .max) -> Int {
    var heads = takeAvailable(0, limit: limit)
    if completesInReverse { heads.reverse() }
    for head in heads { complete(head) }
    return heads.count
  }

  private func complete(_ head: UInt16) {
    requestsSeen += 1
    let descriptors = chain(0, from: head)
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
    var jump: UInt16 = 0
    switch misbehaviour {
    case .usedID(let bogus): id = bogus
    case .extraLength(let extra): written &+= extra
    case .indexJump(let by): jump = by
    default: break
    }
    publishUsed(0, id: id, length: written, jump: jump)
    lastCompletion = (id, written)
    raiseQueueInterrupt()
  }

  /// Completes the last request again, as a broken device might.
  func repeatLastCompletion() {
    if let lastCompletion { publishUsed(0, id: lastCompletion.id, length: lastCompletion.length) }
  }
}
