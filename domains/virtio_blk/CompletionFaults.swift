/// The device faults a fault campaign plans where the driver takes a request's
/// completion from the used ring (`FaultPoint.blockCompletion`), acted out as a broken
/// device or a buggy driver would show them.
///
/// A lost or bogus completion is the virtio library's to act out, so that the driver's
/// own checks meet it as they would meet a device's (`CompletionFault`): a lost one
/// leaves its request out until the wait gives up and resets the device, a bogus one is
/// refused as a protocol breach and resets it. Either way the caller hears `.ioError`
/// for what did not complete. A wrong result is the driver's: the next request that
/// completes well gets it (`VirtioDisk.actOutWrongResult`), and the caller hears `.ok`,
/// which only its own end-to-end check can catch.
import SwiftletLib
import Virtio

struct CompletionFaults {
  /// Wrong results planned and not yet given to a request.
  private var wrongResults = 0

  /// Passes the checkpoint before one completion is taken: what the library acts out on
  /// it, if anything.
  mutating func next() -> CompletionFault? {
    switch FaultInjection.simulatedFault(at: .blockCompletion) {
    case .lostCompletion: return .lost
    case .bogusCompletion: return .bogus
    case .wrongResult:
      wrongResults += 1
      return nil
    default: return nil
    }
  }

  /// Whether the request that just completed well is to get a planned wrong result.
  mutating func takeWrongResult() -> Bool {
    guard wrongResults > 0 else { return false }
    wrongResults -= 1
    return true
  }
}
