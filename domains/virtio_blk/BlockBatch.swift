/// A batch of block requests in flight at the device at once: every request submitted
/// and the device notified once, then completions taken as they come.
///
/// The requests stay in the caller's deque throughout: the deque is rotated once to
/// submit (each request goes to the back as it is handed to the device) and once more
/// to record the statuses, so the batch comes back in the order it was given. The
/// virtio library matches each completion to its own request and returns only when the
/// device holds none of them (resetting it if it did not complete them in time or broke
/// the protocol), so the rotation that gives the requests back never hands over a
/// buffer the device could still write.
import DeviceAccess
import SwiftletInterfaces
import SwiftletLib
import Virtio

struct BlockBatch {
  let disk: VirtioDisk

  /// Does every request in `batch`, waiting `VirtioDisk.completionTimeout` at most;
  /// returns false if the device had to be reset (it must be set up again before it
  /// takes requests).
  func run(_ batch: borrowing RRefDeque<BlockRequest, 32>) -> Bool {
    let count = batch.count
    var statuses = InlineArray<32, BlockStatus>(repeating: .ioError)
    var faults = CompletionFaults()
    var wrongResults = InlineArray<32, Bool>(repeating: false)
    let disk = self.disk
    let deadline = DomainKernel.nanoseconds &+ VirtioDisk.completionTimeout
    do {
      try disk.driver.perform(
        batchOf: count,
        request: { _ in
          guard let request = batch.popFront() else { return nil }
          let virtio = VirtioBlockRequest(request)
          _ = batch.pushBack(request)  // there is room: it was just taken out
          return virtio
        },
        // A test may plan a crash here, with the batch at the device (test_block.py).
        submitted: { FaultInjection.checkpoint(.blockBatchInFlight) },
        completed: { index, error in
          statuses[index] = error.map(VirtioBlockService.status) ?? .ok
          if error == nil && faults.takeWrongResult() { wrongResults[index] = true }
        },
        waiting: { disk.waitForInterrupt(until: deadline) },
        faults: { faults.next() })
    } catch {
      // Every request has its status; the device was reset (`driver.stopped`).
    }
    for index in 0..<count {
      guard let request = batch.popFront() else { break }
      let status =
        wrongResults[index]
        ? disk.actOutWrongResult(request, deadline: deadline) : statuses[index]
      request.update { $0.status = status }
      _ = batch.pushBack(request)
    }
    return disk.driver.stopped == nil
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
