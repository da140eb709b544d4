/// A counter whose value lives only as long as the domain: a restart starts it at 0.
import SwiftletInterfaces
import SwiftletLib

final class CounterService: Counter {
  /// Kept in the private heap on purpose, so a restart visibly loses it.
  private var history: [Int] = []

  func increment(by amount: Int) -> Result<Int, RpcError> {
    FaultInjection.checkpoint(.demoCall)
    history.append((history.last ?? 0) + amount)
    if FaultInjection.simulatedFault(at: .counterResult) == .wrongResult {
      return .success((history.last ?? 0) &+ 1)  // a bug the caller's check must catch
    }
    return .success(history.last ?? 0)
  }

  func value() -> Result<Int, RpcError> { .success(history.last ?? 0) }

  func addBatch(_ batch: consuming RRefDeque<Tally, 8>) -> Result<RRefDeque<Tally, 8>, RpcError> {
    for _ in 0..<batch.count {
      guard let tally = batch.popFront() else { break }
      let total = (history.last ?? 0) + tally.value.amount
      history.append(total)
      tally.value.total = total
      tally.value.ownerSeen = tally.owner
      _ = batch.pushBack(tally)  // there is room: one was just taken out
    }
    return .success(batch)
  }

  func sum(of amounts: borrowing RRefArray<Int, 8>) -> Result<Int, RpcError> {
    FaultInjection.checkpoint(.demoCall)  // the fault campaign's, while it borrows them
    var sum = 0
    for index in 0..<amounts.count { sum &+= amounts[index] }
    return .success(sum)
  }
}
