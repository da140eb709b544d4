/// Tests of the virtio-blk driver domain through its BlockDevice interface, against the
/// test disk (scripts/diskimage.py, attached by scripts/qemu.sh).
///
/// They read every block and check its pattern (BlockPattern), write new generations
/// to fixed ranges, flush, and crash the driver in the middle of a batch. The harness
/// (tests/qemu/test_block.py) then checks on the host that the writes landed and that
/// nothing else changed, so the ranges here are part of that contract.
import SwiftletInterfaces
import SwiftletLib

enum BlockTests {
  static var tests: [KernelTest] {
    [
      KernelTest("block.geometry", geometry),
      KernelTest("block.read_every_block", readEveryBlock),
      KernelTest("block.write_and_flush", writeAndFlush),
      KernelTest("block.past_the_end_is_a_status", pastTheEndIsAStatus),
    ]
  }

  /// Rewritten with generation `writtenGeneration` by `block.write_and_flush`.
  static let writtenRange: Range<UInt64> = 1000..<1064
  static let writtenGeneration: UInt64 = 7

  /// The driver, or a failure saying why there is none.
  private static func device(_ t: inout TestContext) -> (BlockDeviceProxy, BlockGeometry)? {
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

  static func readEveryBlock(_ t: inout TestContext) {
    guard let (device, geometry) = device(&t) else { return }
    for block in 0..<geometry.blockCount {
      guard readAndCheck(device, block, &t) != nil else { return }
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
}
