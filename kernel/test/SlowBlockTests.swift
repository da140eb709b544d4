/// Tests of the virtio-blk driver against slow disks: QEMU's null block driver with
/// every request taking a set time (scripts/qemu.sh --slow-disk, tests/qemu/test_block.py).
///
/// `blockslow`: longer than `VirtioDisk.completionTimeout`. A device that does not
/// complete a request in time must not hold its caller: every call comes back within the
/// driver's call budget, its requests `.ioError`, and the driver resets the device and
/// sets it up again instead of crashing or hanging.
///
/// `blockdelay`: slower than the caller, well inside the timeout, so that a call always
/// waits for its device, and a second call enters the driver meanwhile (the wait gives
/// the domain back): both must come back whole.
import SwiftletInterfaces
import SwiftletLib

enum SlowBlockTests {
  static var tests: [KernelTest] {
    [
      KernelTest("blockslow.a_request_past_the_timeout_is_an_error", requestPastTheTimeout),
      KernelTest("blockslow.a_batch_past_the_timeout_is_errors", batchPastTheTimeout),
      KernelTest("blockslow.callers_at_once_each_get_an_error", callersAtOnce),
      KernelTest("blockdelay.two_batches_at_once", twoBatchesAtOnce),
    ]
  }

  /// The driver's timeout (VirtioDisk.completionTimeout) and its call budget
  /// (domains/manifest.json).
  static let timeout: UInt64 = 500_000_000
  static let budget: UInt64 = 2_000_000_000

  /// The driver domain, or a failure saying it is not there.
  private static func driver(_ t: inout TestContext) -> Domain? {
    let driver = DomainManager.lookup("virtio_blk")
    t.expect(driver != nil, "no virtio_blk domain")
    return driver
  }

  /// Checks that the driver neither crashed since `crashes` nor stopped running.
  private static func stillRunning(_ driver: Domain, since crashes: Int, _ t: inout TestContext) {
    t.expect(
      driver.crashes == crashes, "the driver crashed: \(driver.lastCrash)")
    t.expect(driver.state == .running, "the driver is not running")
  }

  static func requestPastTheTimeout(_ t: inout TestContext) {
    guard let (device, _) = BlockTests.device(&t), let driver = driver(&t) else { return }
    let crashes = driver.crashes
    for block: UInt64 in [7, 8] {
      guard let request = RRef(BlockRequest(read: block)) else {
        t.expect(false, "shared heap full")
        return
      }
      let start = Clock.nanoseconds
      guard case .success(let done) = device.read(request) else {
        t.expect(false, "read of block \(block): the call failed")
        return
      }
      let took = Clock.nanoseconds - start
      t.expect(
        done.value.status == .ioError,
        "read of block \(block): status \(done.value.status.rawValue), not ioError")
      t.expect(
        took >= timeout && took < budget,
        "read of block \(block) took \(took / 1_000_000) ms: not the timeout, or past the budget")
    }
    stillRunning(driver, since: crashes, &t)
    guard case .success(let geometry) = device.geometry() else {
      t.expect(false, "geometry failed after the resets")
      return
    }
    t.expect(geometry.blockCount > 0, "the driver has no disk after the resets")
  }

  static func batchPastTheTimeout(_ t: inout TestContext) {
    guard let (device, _) = BlockTests.device(&t), let driver = driver(&t),
      let reads = BlockTests.batch(100..<108, .read)
    else { return }
    let crashes = driver.crashes
    let start = Clock.nanoseconds
    guard case .success(let done) = device.submit(reads) else {
      t.expect(false, "the batch failed as a call")
      return
    }
    let took = Clock.nanoseconds - start
    t.expect(done.count == 8, "the batch came back with \(done.count) requests")
    while let request = done.popFront() {
      let (block, status) = request.read { ($0.block, $0.status) }
      t.expect(status == .ioError, "block \(block) in the batch: status \(status.rawValue)")
    }
    t.expect(took < budget, "the batch took \(took / 1_000_000) ms, past the budget")
    stillRunning(driver, since: crashes, &t)
  }

  /// A second caller waits its turn while the first one's request times out, then
  /// times out in its own turn: each within the budget, neither crashing the driver.
  static func callersAtOnce(_ t: inout TestContext) {
    guard let (device, _) = BlockTests.device(&t), let driver = driver(&t) else { return }
    let crashes = driver.crashes
    nonisolated(unsafe) var otherStatus = BlockStatus.pending
    nonisolated(unsafe) var otherTook: UInt64 = 0
    let other = Scheduler.spawn("second caller") {
      guard let request = RRef(BlockRequest(read: 20)) else { return }
      let start = Clock.nanoseconds
      if case .success(let done) = device.read(request) { otherStatus = done.value.status }
      otherTook = Clock.nanoseconds - start
    }
    guard let other else {
      t.expect(false, "spawn failed")
      return
    }
    guard let request = RRef(BlockRequest(read: 21)),
      case .success(let done) = device.read(request)
    else {
      t.expect(false, "the first read failed as a call")
      return
    }
    Scheduler.join(other)
    t.expect(done.value.status == .ioError, "first read: status \(done.value.status.rawValue)")
    t.expect(otherStatus == .ioError, "second read: status \(otherStatus.rawValue)")
    t.expect(otherTook < budget, "the second read took \(otherTook / 1_000_000) ms")
    stillRunning(driver, since: crashes, &t)
  }

  /// Submits `blocks` as one batch of reads; the statuses, in order, or nil (and a
  /// failure) if the call failed.
  private static func readStatuses(
    _ device: BlockDeviceProxy, _ blocks: Range<UInt64>, _ t: inout TestContext
  ) -> [BlockStatus]? {
    guard let reads = BlockTests.batch(blocks, .read),
      case .success(let done) = device.submit(reads)
    else {
      t.expect(false, "the batch at block \(blocks.lowerBound) failed as a call")
      return nil
    }
    var statuses: [BlockStatus] = []
    while let request = done.popFront() { statuses.append(request.read { $0.status }) }
    return statuses
  }

  /// Two callers submit a full batch each at once, the second while the first waits for
  /// the device. 64 requests do not fit the queue together: neither batch may lose
  /// requests to the other (the driver lets calls take turns).
  static func twoBatchesAtOnce(_ t: inout TestContext) {
    guard let (device, _) = BlockTests.device(&t), let driver = driver(&t) else { return }
    let crashes = driver.crashes
    nonisolated(unsafe) var otherStatuses: [BlockStatus]?
    let other = Scheduler.spawn("second batch") {
      // Enters while the first batch waits for the device.
      Scheduler.sleep(nanoseconds: 20_000_000)
      var context = TestContext()
      otherStatuses = readStatuses(device, 300..<332, &context)
    }
    guard let other else {
      t.expect(false, "spawn failed")
      return
    }
    let statuses = readStatuses(device, 200..<232, &t)
    Scheduler.join(other)
    t.expect(
      statuses?.count == 32 && statuses?.allSatisfy { $0 == .ok } == true,
      "the first batch: not 32 requests ok")
    t.expect(
      otherStatuses?.count == 32 && otherStatuses?.allSatisfy { $0 == .ok } == true,
      "the second batch: not 32 requests ok")
    stillRunning(driver, since: crashes, &t)
  }
}
