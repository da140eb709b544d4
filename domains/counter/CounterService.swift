/// A counter whose value lives only as long as the domain: a restart starts it at 0.
import SwiftletInterfaces
import SwiftletLib

final class CounterService: Counter {
  /// Kept in the private heap on purpose, so a restart visibly loses it.
  private var history: [Int] = []

  func increment(by amount: Int) -> Result<Int, RpcError> {
    history.append((history.last ?? 0) + amount)
    return .success(history.last ?? 0)
  }

  func value() -> Result<Int, RpcError> { .success(history.last ?? 0) }
}
