/// Block I/O through the virtio-blk driver domain: 4 KiB reads, sequential and random,
/// one request per call and batches of 32.
///
/// Each metric is printed twice (Benchmark.measureWaiting): the elapsed ticks per
/// request, which in tsc mode are wall clock (scripts/bench.py turns them into IOPS and
/// MB/s with the TSC frequency), and the `.busy` ticks, which under -icount are the
/// instructions the kernel, the proxy, the driver and its interrupt ran per request,
/// without the time the CPU sat halted waiting for the device. The boot needs a disk
/// (scripts/bench.py attaches one); without one the metrics are skipped with a line
/// saying so.
import SwiftletInterfaces
import SwiftletLib

enum BlockBenchmarks {
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
    // One buffer, moved into every call and back, as a file system would reuse its own.
    var held = RRef(BlockRequest(read: 0))

    var next: UInt64 = 0
    Benchmark.measureWaiting(
      "block.read_sequential", busy: "block.read_sequential.busy", baseline: "domain.null_call"
    ) { n in
      for _ in 0..<n {
        failures += read(device, block: next, &held) ? 0 : 1
        reads += 1
        next = (next + 1) % blocks
      }
    }

    var random = RandomBlocks(count: blocks)
    Benchmark.measureWaiting(
      "block.read_random", busy: "block.read_random.busy", baseline: "domain.null_call"
    ) { n in
      for _ in 0..<n {
        failures += read(device, block: random.next(), &held) ? 0 : 1
        reads += 1
      }
    }
    // Every read came back with its block, intact: the benchmark did real reads.
    Benchmark.check("block.reads_verified", expected: reads, actual: reads - failures)
  }

  /// Reads `block` into the held buffer and checks that it says it is that block.
  private static func read(
    _ device: BlockDeviceProxy, block: UInt64, _ held: inout RRef<BlockRequest>?
  ) -> Bool {
    guard let request = held.take() else { return false }
    request.update { $0.block = block }
    guard case .success(let done) = device.read(request) else { return false }
    let good = done.read { $0.status == .ok && $0.data[0] == UInt8(truncatingIfNeeded: block) }
    held = consume done
    return good
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
