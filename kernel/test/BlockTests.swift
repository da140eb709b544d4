/// Tests of the virtio-blk driver domain through its BlockDevice interface, against the
/// test disk (scripts/diskimage.py, attached by scripts/qemu.sh).
///
/// They read every block and check its pattern (BlockPattern), write new generations
/// to fixed ranges, flush, and crash the driver in the middle of a batch. The harness
/// (tests/qemu/test_block.py) then checks on the host that the writes landed and that
/// nothing else changed, so the ranges here are part of that contract.
import Memory
import SwiftletInterfaces
import SwiftletLib

enum BlockTests {
  static var tests: [KernelTest] {
    [
      KernelTest("block.geometry", geometry),
      KernelTest("block.read_every_block", readEveryBlock),
      KernelTest("block.write_and_flush", writeAndFlush),
      KernelTest("block.past_the_end_is_a_status", pastTheEndIsAStatus),
      KernelTest("block.crash_mid_batch_recovers", crashMidBatchRecovers),
    ]
  }

  /// Rewritten with generation `writtenGeneration` by `block.write_and_flush`.
  static let writtenRange: Range<UInt64> = 1000..<1064
  static let writtenGeneration: UInt64 = 7

  /// The driver, or a failure saying why there is none.
  static func device(_ t: inout TestContext) -> (BlockDeviceProxy, BlockGeometry)? {
    guard case .success(let device) = BlockDeviceProxy.connect() else {
      t.expect(false, "cannot connect to BlockDevice")
      return nil
    }
    guard case .success(let geometry) = device.geometry() else {
      t.expect(false, "geometry failed")
      return nil
    }
    guard geometry.blockCount > 0 else {
      t.expect(false, "the driver has no disk (boot with scripts/qemu.sh --disk)")
      return nil
    }
    return (device, geometry)
  }

  static func geometry(_ t: inout TestContext) {
    guard let (_, geometry) = device(&t) else { return }
    t.expect(geometry.deviceBlockSize == 512, "device block size \(geometry.deviceBlockSize)")
    t.expect(!geometry.readOnly, "the test disk is read-only")
  }

  /// Reads `block` through `device` and checks its pattern; returns its generation.
  private static func readAndCheck(
    _ device: BlockDeviceProxy, _ block: UInt64, _ t: inout TestContext
  ) -> UInt64? {
    guard let request = RRef(BlockRequest(read: block)) else {
      t.expect(false, "shared heap full")
      return nil
    }
    guard case .success(let done) = device.read(request) else {
      t.expect(false, "read of block \(block): the call failed")
      return nil
    }
    let reply = done.value
    guard t.expect(reply.status == .ok, "read of block \(block): status \(reply.status.rawValue)")
    else { return nil }
    if let problem = BlockPattern.problem(in: reply.data, expectedBlock: block) {
      t.expect(false, "block \(block): \(problem)")
      return nil
    }
    return BlockPattern.generation(of: reply.data)
  }

  /// Every block, in batches of 32 (and the few left at the end one at a time).
  static func readEveryBlock(_ t: inout TestContext) {
    guard let (device, geometry) = device(&t) else { return }
    var block: UInt64 = 0
    while block + 32 <= geometry.blockCount {
      guard submit(device, block..<(block + 32), .read, &t) != nil else { return }
      block += 32
    }
    while block < geometry.blockCount {
      guard readAndCheck(device, block, &t) != nil else { return }
      block += 1
    }
  }

  static func writeAndFlush(_ t: inout TestContext) {
    guard let (device, _) = device(&t) else { return }
    for block in writtenRange {
      let data = BlockPattern.bytes(block: block, generation: writtenGeneration)
      guard let request = RRef(BlockRequest(write: block, data: data)),
        case .success(let done) = device.write(request)
      else {
        t.expect(false, "write of block \(block) failed")
        return
      }
      guard
        t.expect(
          done.value.status == .ok, "write of block \(block): status \(done.value.status.rawValue)")
      else { return }
    }
    t.expect(device.flush() == .success(.ok), "flush failed")
    for block in writtenRange {
      let generation = readAndCheck(device, block, &t)
      t.expect(
        generation == writtenGeneration,
        "block \(block) reads back generation \(generation ?? 0), not \(writtenGeneration)")
    }
  }

  static func pastTheEndIsAStatus(_ t: inout TestContext) {
    guard let (device, geometry) = device(&t) else { return }
    for block in [geometry.blockCount, geometry.blockCount + 1, UInt64.max] {
      guard let request = RRef(BlockRequest(read: block)),
        case .success(let done) = device.read(request)
      else {
        t.expect(false, "a read past the end failed as a call")
        return
      }
      t.expect(
        done.value.status == .outOfRange,
        "read of block \(block) past the end: status \(done.value.status.rawValue)")
    }
    guard
      let request = RRef(BlockRequest(write: geometry.blockCount, data: BlockBytes(repeating: 1))),
      case .success(let done) = device.write(request)
    else {
      t.expect(false, "a write past the end failed as a call")
      return
    }
    t.expect(
      done.value.status == .outOfRange, "write past the end: status \(done.value.status.rawValue)")
    t.expect(readAndCheck(device, geometry.blockCount - 1, &t) != nil, "the last block is damaged")
  }

  /// Rewritten with generation `acknowledgedGeneration` just before the driver is
  /// crashed: the writes were acknowledged, so they must survive the crash.
  static let acknowledgedRange: Range<UInt64> = 2000..<2032
  static let acknowledgedGeneration: UInt64 = 9

  /// A batch of requests, `operation` on each block of `blocks` (at most 32).
  static func batch(
    _ blocks: Range<UInt64>, _ operation: BlockOperation, generation: UInt64 = 0
  ) -> RRefDeque<BlockRequest, 32>? {
    guard let batch = RRefDeque<BlockRequest, 32>() else { return nil }
    for block in blocks {
      let request =
        operation == .read
        ? RRef(BlockRequest(read: block))
        : RRef(
          BlockRequest(write: block, data: BlockPattern.bytes(block: block, generation: generation))
        )
      guard let request, batch.pushBack(request) == nil else { return nil }
    }
    return batch
  }

  /// Submits a batch and checks every request came back `.ok` in order; for reads,
  /// checks the pattern and returns the generations read.
  @discardableResult
  private static func submit(
    _ device: BlockDeviceProxy, _ blocks: Range<UInt64>, _ operation: BlockOperation,
    generation: UInt64 = 0, _ t: inout TestContext
  ) -> [UInt64]? {
    guard let requests = batch(blocks, operation, generation: generation) else {
      t.expect(false, "shared heap full")
      return nil
    }
    guard case .success(let done) = device.submit(requests) else {
      t.expect(false, "a batch at block \(blocks.lowerBound): the call failed")
      return nil
    }
    guard t.expect(done.count == blocks.count, "the batch came back with \(done.count) requests")
    else { return nil }
    var generations: [UInt64] = []
    for block in blocks {
      guard let request = done.popFront() else { return nil }
      let (status, number, problem, generation) = request.read {
        (
          $0.status, $0.block, BlockPattern.problem(in: $0.data, expectedBlock: block),
          BlockPattern.generation(of: $0.data)
        )
      }
      guard t.expect(number == block, "the batch came back out of order: \(number) for \(block)"),
        t.expect(status == .ok, "block \(block) in a batch: status \(status.rawValue)")
      else { return nil }
      if operation == .read {
        if let problem {
          t.expect(false, "block \(block): \(problem)")
          return nil
        }
        generations.append(generation)
      }
    }
    return generations
  }

  static func crashMidBatchRecovers(_ t: inout TestContext) {
    guard let (device, _) = device(&t), let driver = DomainManager.lookup("virtio_blk") else {
      return
    }
    // Acknowledged writes, made durable.
    guard submit(device, acknowledgedRange, .write, generation: acknowledgedGeneration, &t) != nil
    else { return }
    t.expect(device.flush() == .success(.ok), "flush failed")
    TestDomains.settle("virtio_blk")
    let crashes = driver.crashes
    FaultPlan.arm(domain: driver.id, point: FaultPoint.blockBatchInFlight.rawValue, after: 1)
    defer { FaultPlan.disarm() }
    guard let reads = batch(3000..<3032, .read) else { return }
    switch device.submit(reads) {
    case .failure(let error):
      t.expect(
        error == .domainCrashed,
        "the batch ended with \(RRefBatchTests.describe(error)), not a crash")
    case .success: t.expect(false, "the batch came back: the planned crash did not happen")
    }
    t.expect(driver.crashes == crashes + 1, "the driver did not crash once")
    t.expect(
      SharedMemory.statistics(for: SharedMemory.owner(driver.id)).allocations == 0,
      "the crashed driver's shared allocations were not reclaimed")
    t.expect(device.recover(), "the driver did not restart")
    // The restarted driver reset the device and reads again; the writes are there.
    let generations = submit(device, acknowledgedRange, .read, &t)
    t.expect(
      generations?.allSatisfy { $0 == acknowledgedGeneration } == true,
      "acknowledged writes were lost in the crash")
    submit(device, 3000..<3032, .read, &t)
  }
}
