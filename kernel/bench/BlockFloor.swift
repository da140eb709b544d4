/// The block floors: the same virtio-blk disk the domain benchmarks read, read by the
/// simplest loop the kernel can run, in the same boot, so that the report can say what
/// QEMU itself takes for a 4 KiB read and what the domain path adds on top.
///
/// In each round (BlockBenchmarks alternates with the domain) the disk is lent to the
/// kernel (FloorDevice: the virtio_blk domain is destroyed, which releases it) and driven
/// through the legacy virtio interface of the same transitional device: I/O ports, one
/// virtqueue whose 32 request chains (header, 4 KiB, status byte) are written once. A
/// request costs a header store, a ring entry, the index, one port write to notify, and
/// the wait. The metrics mirror BlockBenchmarks' (sequential and random, one at a time
/// and 32 per notification), each printed as elapsed ticks per request and as `.busy`,
/// the ticks not spent waiting (under -icount: the floor's instructions per request).
/// They wait two ways: `block.floor_*` polls the used ring with no interrupt at all
/// (the queue has no MSI-X vector and the available ring asks for none);
/// `block.floor_halted_*` halts until the disk's MSI-X interrupt. On a host with no CPU
/// to spare, a polling guest keeps a host core from QEMU's own I/O threads and can be
/// slower than one that halts, so the halted loop is the floor there. Then the disk is
/// reset and given back, and the virtio_blk domain starts again and drives it.
import SwiftletInterfaces

final class BlockFloor {
  let blocks: UInt64
  /// Rounds that ran.
  private(set) var rounds = 0
  private var skipped = false
  private var failures = 0
  private var reads = 0
  private var intact = 0
  private var sizeMatched = 0
  /// Interrupts the disk delivered while the floor had it: none, if it polls as meant.
  private var interrupts: UInt64 = 0
  private var next: UInt64 = 0
  private var random: RandomBlocks
  private let spins = TickCounter()
  /// The first `polled` series poll the used ring; the rest halt until the disk's
  /// interrupt, the same reads otherwise.
  private let series: [WaitingSeries]
  private static let polled = 4

  init(blocks: UInt64) {
    self.blocks = blocks
    random = RandomBlocks(count: blocks)
    let spins = self.spins
    let waited = { spins.ticks }
    var series: [WaitingSeries] = []
    for (name, busy, perIteration): (StaticString, StaticString, Int) in [
      ("block.floor_read_sequential", "block.floor_read_sequential.busy", 1),
      ("block.floor_read_random", "block.floor_read_random.busy", 1),
      ("block.floor_read_sequential_batch32", "block.floor_read_sequential_batch32.busy", 32),
      ("block.floor_read_random_batch32", "block.floor_read_random_batch32.busy", 32),
      ("block.floor_halted_read_sequential", "block.floor_halted_read_sequential.busy", 1),
      ("block.floor_halted_read_random", "block.floor_halted_read_random.busy", 1),
      (
        "block.floor_halted_read_sequential_batch32",
        "block.floor_halted_read_sequential_batch32.busy", 32
      ),
      ("block.floor_halted_read_random_batch32", "block.floor_halted_read_random_batch32.busy", 32),
    ] {
      series.append(
        WaitingSeries(
          name, busy: busy, baseline: "loop.empty", perIteration: perIteration, waited: waited))
    }
    self.series = series
  }

  /// Takes the disk, samples each metric `samples` times, checks the pattern, and gives
  /// the disk back; false (having said why, once) if the floor cannot run.
  func round(samples: Int) -> Bool {
    guard !skipped else { return false }
    guard let device = FloorDevice.find(vendor: 0x1AF4, deviceIDs: [0x1001, 0x1042]) else {
      return skip("no virtio-blk disk")
    }
    let loan: FloorDevice
    switch FloorDevice.take(device) {
    case .success(let taken): loan = taken
    case .failure(let error): return skip(error.message)
    }
    defer { loan.giveBack() }
    let msix = if case .msix = device.interrupt { true } else { false }
    guard let ports = loan.portBAR(0),
      let disk = LegacyBlockQueue(ports: ports, msix: msix, spins: spins)
    else {
      return skip("no legacy virtio interface on the disk")
    }
    defer { disk.finish() }
    sizeMatched += disk.blockCount == blocks ? 1 : 0
    let delivered = DeviceManager.interruptCount(device.handle)
    for (metric, series) in series.enumerated() where metric < Self.polled {
      series.sample(samples) { n in read(metric, disk, n) }
    }
    interrupts += DeviceManager.interruptCount(device.handle) - delivered
    if disk.halting(true) {
      for (metric, series) in series.enumerated() where metric >= Self.polled {
        series.sample(samples) { n in read(metric - Self.polled, disk, n) }
      }
      _ = disk.halting(false)
    }
    intact += patternIntact(disk)
    rounds += 1
    return true
  }

  /// Prints the metrics and their checks, if any round ran.
  func report() {
    guard rounds > 0 else { return }
    for metric in series where metric.samples > 0 { metric.report() }
    Benchmark.check("block.floor_blocks", expected: rounds, actual: sizeMatched)
    Benchmark.check("block.floor_reads_verified", expected: reads, actual: reads - failures)
    Benchmark.check("block.floor_pattern", expected: 64 * rounds, actual: intact)
    Benchmark.check("block.floor_interrupts", expected: 0, actual: Int(interrupts))
  }

  private func skip(_ why: TextLine) -> Bool {
    Console.print("BENCH skipped block floor: \(why)")
    skipped = true
    return false
  }

  /// `n` iterations of metric `metric` (the order of `series`), the loop chosen outside
  /// and run on local copies of the state (a class's stored properties would cost the
  /// loop the runtime's exclusivity checks).
  private func read(_ metric: Int, _ disk: LegacyBlockQueue, _ n: Int) {
    var next = self.next
    var random = self.random
    var failed = 0
    let blocks = self.blocks
    switch metric {
    case 0:
      for _ in 0..<n {
        failed += disk.read(count: 1) { _ in next }
        next = (next + 1) % blocks
      }
    case 1:
      for _ in 0..<n { failed += disk.read(count: 1) { _ in random.next() } }
    case 2:
      for _ in 0..<n {
        failed += disk.read(count: 32) { _ in
          defer { next = (next + 1) % blocks }
          return next
        }
      }
    default:
      for _ in 0..<n { failed += disk.read(count: 32) { _ in random.next() } }
    }
    self.next = next
    self.random = random
    failures += failed
    reads += n * (metric >= 2 ? 32 : 1)
  }

  /// Reads 32 blocks in order and 32 spread over the disk, and counts those that are
  /// the test pattern's block, whole (BlockPattern: number and CRC). The timed loops only
  /// look at the first byte, as the domain benchmarks do.
  private func patternIntact(_ disk: LegacyBlockQueue) -> Int {
    var intact = 0
    var spread = RandomBlocks(count: blocks)
    for scattered in [false, true] {
      var wanted = [UInt64](repeating: 0, count: 32)
      for index in 0..<32 { wanted[index] = scattered ? spread.next() : UInt64(index) % blocks }
      _ = disk.read(count: 32) { wanted[$0] }
      for index in 0..<32 {
        var bytes = BlockBytes(repeating: 0)
        let data = disk.data(index)
        for offset in 0..<4096 { bytes[offset] = data.load8(offset) }
        if BlockPattern.problem(in: bytes, expectedBlock: wanted[index]) == nil { intact += 1 }
      }
    }
    return intact
  }
}

/// Ticks counted across objects: the floor's spins, whichever disk queue spun.
final class TickCounter {
  var ticks: UInt64 = 0
}

/// One legacy virtqueue of a virtio-blk device with 32 fixed request chains, polled.
///
/// The legacy interface is registers in I/O BAR 0 (virtio 0.9.5); with MSI-X on, two
/// vector registers come before the device's configuration. The queue is one
/// page-aligned run whose size the device sets: descriptors, the available ring, and
/// the used ring on the next page boundary. Request `i` is descriptors 3i..3i+2, its
/// header and status in the header frame at 32i, its data in frame i of the data run.
final class LegacyBlockQueue {
  private static let hostFeatures: UInt16 = 0x00
  private static let guestFeatures: UInt16 = 0x04
  private static let queueAddress: UInt16 = 0x08
  private static let queueSizeRegister: UInt16 = 0x0C
  private static let queueSelect: UInt16 = 0x0E
  private static let queueNotify: UInt16 = 0x10
  private static let deviceStatus: UInt16 = 0x12
  private static let queueVector: UInt16 = 0x16
  static let slots = 32

  let ports: UInt16
  let blockCount: UInt64
  /// Where the ticks spent waiting for the device go (WaitingSeries' `waited`).
  private let spins: TickCounter
  private let msix: Bool
  private var halts = false
  private let ring: FloorFrames
  private let headers: FloorFrames
  private let buffers: FloorFrames
  private let size: Int
  private let availableOffset: Int
  private let usedOffset: Int
  private var availableIndex: UInt16 = 0
  private var usedIndex: UInt16 = 0

  /// Resets the device and sets up queue 0 for polling; nil if the device or memory says no.
  init?(ports: UInt16, msix: Bool, spins: TickCounter) {
    self.ports = ports
    self.spins = spins
    self.msix = msix
    CPU.out8(ports + Self.deviceStatus, 0)
    CPU.out8(ports + Self.deviceStatus, 1 | 2)  // acknowledge, driver
    _ = CPU.in32(ports + Self.hostFeatures)
    CPU.out32(ports + Self.guestFeatures, 0)
    CPU.out16(ports + Self.queueSelect, 0)
    size = Int(CPU.in16(ports + Self.queueSizeRegister))
    guard size >= 3 * Self.slots, size & (size - 1) == 0 else { return nil }
    availableOffset = 16 * size
    usedOffset = (availableOffset + 6 + 2 * size + 4095) & ~4095
    guard let ring = FloorFrames(count: (usedOffset + 6 + 8 * size + 4095) / 4096) else {
      return nil
    }
    guard let headers = FloorFrames(count: 1) else {
      ring.free()
      return nil
    }
    guard let buffers = FloorFrames(count: Self.slots) else {
      ring.free()
      headers.free()
      return nil
    }
    self.ring = ring
    self.headers = headers
    self.buffers = buffers
    let configuration = ports + (msix ? 0x18 : 0x14)
    let sectors =
      UInt64(CPU.in32(configuration)) | UInt64(CPU.in32(configuration + 4)) << 32
    blockCount = sectors / 8
    for slot in 0..<Self.slots {
      let header = headers.address + UInt64(32 * slot)
      describe(3 * slot, header, 16, flags: 1, next: 3 * slot + 1)
      describe(
        3 * slot + 1, buffers.address + UInt64(4096 * slot), 4096, flags: 1 | 2, next: 3 * slot + 2)
      describe(3 * slot + 2, header + 16, 1, flags: 2, next: 0)
    }
    ring.window.store(UInt16(1), availableOffset)  // no interrupts, please
    CPU.out32(ports + Self.queueAddress, UInt32(truncatingIfNeeded: ring.address >> 12))
    if msix { CPU.out16(ports + Self.queueVector, 0xFFFF) }
    CPU.out8(ports + Self.deviceStatus, 1 | 2 | 4)  // driver OK
  }

  /// Reads `count` blocks (at most 32), `block(i)` into slot i, with one notification,
  /// and waits for all of them; returns how many did not come back well (status, or a
  /// first byte that is not the block number's).
  func read(count: Int, block: (Int) -> UInt64) -> Int {
    let window = ring.window
    let mask = UInt16(size - 1)
    for slot in 0..<count {
      let header = headers.window.advanced(by: 32 * slot)
      header.store(UInt64(0), 0)  // type: read
      header.store(block(slot) &* 8, 8)
      header.store(UInt8(0xFF), 16)
      let entry = availableOffset + 4 + 2 * Int((availableIndex &+ UInt16(slot)) & mask)
      window.store(UInt16(3 * slot), entry)
    }
    availableIndex &+= UInt16(count)
    window.store(availableIndex, availableOffset + 2)
    CPU.out16(ports + Self.queueNotify, 0)
    let target = usedIndex &+ UInt16(count)
    let start = CPU.timestamp
    if halts {
      // Interrupts off between the look and the halt, so the wake-up cannot slip between.
      while true {
        CPU.disableInterrupts()
        if window.load16(usedOffset + 2) == target { break }
        CPU.waitForInterrupt()
      }
      CPU.enableInterrupts()
    } else {
      while window.load16(usedOffset + 2) != target {}
    }
    spins.ticks &+= CPU.timestamp &- start
    usedIndex = target
    var failures = 0
    for slot in 0..<count {
      let header = headers.window.advanced(by: 32 * slot)
      let block = UInt8(truncatingIfNeeded: header.load32(8) / 8)
      if header.load8(16) != 0 || data(slot).load8(0) != block { failures += 1 }
    }
    return failures
  }

  /// Switches between polling the used ring and halting until the disk's interrupt (its
  /// MSI-X table's first entry, which the kernel set; the kernel's handler only counts
  /// it); false if the disk has no MSI-X, so it cannot halt.
  func halting(_ on: Bool) -> Bool {
    guard msix else { return false }
    CPU.out16(ports + Self.queueSelect, 0)
    CPU.out16(ports + Self.queueVector, on ? 0 : 0xFFFF)
    ring.window.store(UInt16(on ? 0 : 1), availableOffset)  // interrupts wanted, or not
    halts = on
    return true
  }

  /// Slot `slot`'s 4 KiB, as the last read left them.
  func data(_ slot: Int) -> FloorWindow { buffers.window.advanced(by: 4096 * slot) }

  /// Resets the device, so that it lets go of the memory, and frees the memory.
  func finish() {
    CPU.out8(ports + Self.deviceStatus, 0)
    ring.free()
    headers.free()
    buffers.free()
  }

  private func describe(_ index: Int, _ address: UInt64, _ length: UInt32, flags: UInt16, next: Int)
  {
    let descriptor = ring.window.advanced(by: 16 * index)
    descriptor.store(address, 0)
    descriptor.store(length, 8)
    descriptor.store(flags, 12)
    descriptor.store(UInt16(next), 14)
  }
}
