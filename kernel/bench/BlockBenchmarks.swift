/// Block I/O through the virtio-blk driver domain: 4 KiB reads, sequential and random,
/// one request per call and batches of 32, each beside its floor.
///
/// Each metric is printed twice (WaitingSeries): the elapsed ticks per request, which in
/// tsc mode are wall clock (scripts/bench.py turns them into IOPS and MB/s with the TSC
/// frequency), and the `.busy` ticks, which under -icount are the instructions the
/// kernel, the proxy, the driver and its interrupt ran per request, without the time the
/// CPU sat halted waiting for the device. Each metric has a floor (BlockFloor): the same
/// reads of the same disk by a polled kernel loop. Wall-clock figures under QEMU move
/// with the load on the host, so the domain and the floor take turns, in rounds that
/// each take a share of the samples, and a ratio of the two compares figures taken
/// under the same conditions. The boot needs a disk (scripts/bench.py attaches one);
/// without one the metrics are skipped with a line saying so.
import SwiftletInterfaces
import SwiftletLib

enum BlockBenchmarks {
  /// Turns the domain and the floor take at the disk.
  static let rounds = 3

  static func run() {
    guard case .success(let device) = BlockDeviceProxy.connect(),
      case .success(let geometry) = device.geometry(), geometry.blockCount > 0
    else {
      Console.print("BENCH skipped block: no disk (scripts/qemu.sh --disk)")
      return
    }
    let blocks = geometry.blockCount
    var failures = 0
    var reads = 0
    let buffers = BenchBuffers()
    var next: UInt64 = 0
    var random = RandomBlocks(count: blocks)
    let metrics: [(WaitingSeries, (Int) -> Void)] = [
      (
        WaitingSeries(
          "block.read_sequential", busy: "block.read_sequential.busy",
          baseline: "domain.null_call"),
        { n in
          for _ in 0..<n {
            failures += read(device, block: next, buffers) ? 0 : 1
            reads += 1
            next = (next + 1) % blocks
          }
        }
      ),
      (
        WaitingSeries(
          "block.read_random", busy: "block.read_random.busy", baseline: "domain.null_call"),
        { n in
          for _ in 0..<n {
            failures += read(device, block: random.next(), buffers) ? 0 : 1
            reads += 1
          }
        }
      ),
      // The same in batches of 32, one call and one notification for each.
      (
        WaitingSeries(
          "block.read_sequential_batch32", busy: "block.read_sequential_batch32.busy",
          baseline: "block.read_sequential.busy", perIteration: 32),
        { n in
          for _ in 0..<n {
            failures += readBatch(device, buffers) { _ in
              defer { next = (next + 1) % blocks }
              return next
            }
            reads += 32
          }
        }
      ),
      (
        WaitingSeries(
          "block.read_random_batch32", busy: "block.read_random_batch32.busy",
          baseline: "block.read_random.busy", perIteration: 32),
        { n in
          for _ in 0..<n {
            failures += readBatch(device, buffers) { _ in random.next() }
            reads += 32
          }
        }
      ),
    ]
    let floor = BlockFloor(blocks: blocks)
    var givenBack = 0
    for round in 0..<rounds {
      let samples = Benchmark.samples / rounds + (round < Benchmark.samples % rounds ? 1 : 0)
      for (series, body) in metrics { series.sample(samples, body) }
      guard floor.round(samples: samples) else { break }
      // The driver domain, started again, drives the disk as before.
      givenBack += read(device, block: 1, buffers) ? 1 : 0
    }
    for (series, _) in metrics { series.report() }
    // Every read came back with its block, intact: the benchmark did real reads.
    Benchmark.check("block.reads_verified", expected: reads, actual: reads - failures)
    floor.report()
    if floor.rounds > 0 {
      Benchmark.check("block.floor_given_back", expected: floor.rounds, actual: givenBack)
    }
  }

  /// Reads a batch of 32 blocks, `block(i)` for the i-th, through the held deque;
  /// returns how many did not come back as the block asked for.
  private static func readBatch(
    _ device: BlockDeviceProxy, _ buffers: BenchBuffers, block: (Int) -> UInt64
  ) -> Int {
    guard let batch = buffers.batch.take() else { return 32 }
    for index in 0..<32 {
      guard let request = batch.popFront() else { return 32 }
      let number = block(index)
      request.update { $0.block = number }
      _ = batch.pushBack(request)
    }
    guard case .success(let done) = device.submit(batch) else { return 32 }
    var failures = 0
    for _ in 0..<32 {
      guard let request = done.popFront() else { return 32 }
      let good = request.read {
        $0.status == .ok && $0.data[0] == UInt8(truncatingIfNeeded: $0.block)
      }
      failures += good ? 0 : 1
      _ = done.pushBack(request)
    }
    buffers.batch = consume done
    return failures
  }

  /// Reads `block` into the held buffer and checks that it says it is that block.
  private static func read(
    _ device: BlockDeviceProxy, block: UInt64, _ buffers: BenchBuffers
  ) -> Bool {
    guard let request = buffers.request.take() else { return false }
    request.update { $0.block = block }
    guard case .success(let done) = device.read(request) else { return false }
    let good = done.read { $0.status == .ok && $0.data[0] == UInt8(truncatingIfNeeded: block) }
    buffers.request = consume done
    return good
  }

}

/// The buffers the benchmarks reuse, as a file system would reuse its own: one request
/// and a batch of 32, each moved into every call and back. (A class, so the closures
/// that use them capture a reference, not the noncopyable values themselves.)
final class BenchBuffers {
  var request = RRef(BlockRequest(read: 0))
  var batch = RRefDeque<BlockRequest, 32>()

  init() {
    for _ in 0..<32 {
      guard let request = RRef(BlockRequest(read: 0)) else { return }
      _ = batch?.pushBack(request)
    }
  }
}

/// Block numbers spread over the disk, the same every boot (a 64-bit LCG).
struct RandomBlocks {
  private var state: UInt64 = 0x2545_F491_4F6C_DD1D
  let count: UInt64

  init(count: UInt64) { self.count = count }

  mutating func next() -> UInt64 {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return (state >> 33) % count
  }
}
