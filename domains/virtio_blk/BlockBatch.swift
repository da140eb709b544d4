/// A batch of block requests in flight at the device at once: every request submitted
/// and the device notified once, then completions taken as they come.
///
/// The requests stay in the caller's deque throughout: the deque is rotated once to
/// submit (each request goes to the back as it is handed to the device) and once more
/// to record the statuses, so the batch comes back in the order it was given.
import DeviceAccess
import SwiftletInterfaces
import SwiftletLib
import Virtio

struct BlockBatch {
  let disk: VirtioDisk

  /// Does every request in `batch`; returns false if the device broke the queue
  /// protocol (and must be reset before it is trusted again).
  func run(_ batch: borrowing RRefDeque<BlockRequest, 32>) -> Bool {
    let count = batch.count
    var statuses = InlineArray<32, BlockStatus>(repeating: .pending)
    var inFlight = 0
    for index in 0..<count {
      guard let request = batch.popFront() else { break }
      let (operation, block) = request.read { ($0.operation, $0.block) }
      do {
        try disk.driver.submit(
          VirtioBlockRequest(operation, block: block, buffer: request.deviceAddress),
          tag: UInt64(index))
        inFlight += 1
      } catch {
        statuses[index] = VirtioBlockService.status(of: error)
      }
      _ = batch.pushBack(request)  // there is room: it was just taken out
    }
    disk.driver.kick()
    // A test may plan a crash here, with the batch at the device (test_block.py).
    FaultInjection.checkpoint(.blockBatchInFlight)
    var healthy = true
    while inFlight > 0 {
      do {
        if let completion = try disk.driver.poll() {
          statuses[Int(completion.tag)] = completion.error.map(VirtioBlockService.status) ?? .ok
          inFlight -= 1
          continue
        }
      } catch {
        healthy = false
        break
      }
      guard disk.waitForInterrupt() else {
        healthy = false
        break
      }
    }
    for index in 0..<count {
      guard let request = batch.popFront() else { break }
      let status = statuses[index] == .pending ? BlockStatus.ioError : statuses[index]
      request.update { $0.status = status }
      _ = batch.pushBack(request)
    }
    return healthy
  }

  /// Gives every request in `batch` the same status (no device to send them to).
  static func markAll(_ batch: borrowing RRefDeque<BlockRequest, 32>, _ status: BlockStatus) {
    for _ in 0..<batch.count {
      guard let request = batch.popFront() else { return }
      request.update { $0.status = status }
      _ = batch.pushBack(request)
    }
  }
}
