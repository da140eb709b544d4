/// Fails on request, in every way the kernel must contain: safe Swift traps itself;
/// the hardware faults come from the trusted FaultInjection library.
import SwiftletInterfaces
import SwiftletLib

final class CrasherService: Crasher, Mailbox, Background {
  private var served = 0
  /// A letter given to keep: this domain's until it is replaced or the domain dies.
  private var kept: RRef<Letter>? = nil
  /// Shared with the domain's own threads: Sendable, as what a thread captures must be.
  private let loopRounds = SharedCounter()
  private let loopers = SharedCounter()
  /// Counts the spinners' rounds (any thread of the domain may add to it).
  private let spins = SharedCounter()
  /// What `hoard` keeps, and how many.
  private var hoarded: HoardedBuffer? = nil
  private var hoardedCount = 0

  /// A test may plan a crash here, in init (`fault crasher init`): the crash-loop tests.
  init() {
    FaultInjection.checkpoint(.domainInit)
  }

  func crash(_ kind: CrashKind) -> Result<Void, RpcError> {
    served += 1
    switch kind {
    case .swiftTrap:
      let big = Int.max - served + 1
      served = big + served  // overflows: a Swift runtime trap
    case .pageFault:
      FaultInjection.pageFault()
    case .generalProtection:
      FaultInjection.generalProtection()
    case .divideError:
      FaultInjection.divideError()
    case .stackOverflow:
      _ = descend(served)
    case .hang:
      while served > 0 { served = served &+ 1 | 1 }
    }
    return .success(())
  }

  func echo(_ value: Int) -> Result<Int, RpcError> {
    served += 1
    return .success(value)
  }

  func callsServed() -> Result<Int, RpcError> { .success(served) }

  /// Recursion with no end the optimizer can see.
  private func descend(_ depth: Int) -> Int {
    if depth == Int.min { return 0 }
    var frame = InlineArray<32, Int>(repeating: depth)
    frame[depth & 31] = descend(depth &+ 1)
    return frame[0] &+ frame[depth & 31]
  }

  // MARK: - Mailbox

  func stamp(_ letter: consuming RRef<Letter>) -> Result<RRef<Letter>, RpcError> {
    served += 1
    letter.value.number += 1
    letter.value.ownerSeen = letter.owner
    return .success(letter)
  }

  func bounce(_ letter: consuming RRef<Letter>) -> Result<RRef<Letter>, RpcError> {
    .success(letter)
  }

  func inspect(_ letter: borrowing RRef<Letter>) -> Result<Letter, RpcError> {
    served += 1
    var seen = letter.value
    seen.ownerSeen = letter.owner
    seen.borrowsSeen = letter.borrows
    return .success(seen)
  }

  func keep(_ letter: consuming RRef<Letter>) -> Result<Int, RpcError> {
    served += 1
    let number = letter.value.number
    // The letter kept before is swapped out and dropped after the access to `kept` has
    // ended: its drop calls the kernel, and no call may run inside that access.
    var replaced: RRef<Letter>? = consume letter
    swap(&kept, &replaced)
    return .success(number)
  }

  func crashWhileBorrowing(_ letter: borrowing RRef<Letter>) -> Result<Void, RpcError> {
    served = Int.max
    served += Int(letter.value.number & 0xFF) + 1  // overflows: a Swift trap
    return .success(())
  }

  // MARK: - Background

  func startLooper() -> Result<Int, RpcError> {
    let rounds = loopRounds
    guard
      DomainThread.spawn({
        while true {
          rounds.add(1)
          DomainThread.sleep(nanoseconds: 1_000_000)
        }
      })
    else { return .failure(.failed(code: 1)) }
    return .success(loopers.add(1))
  }

  func trapInThread(after milliseconds: Int) -> Result<Void, RpcError> {
    let rounds = loopRounds
    guard
      DomainThread.spawn({
        DomainThread.sleep(nanoseconds: UInt64(milliseconds) * 1_000_000)
        rounds.set(Int.max)
        rounds.set(rounds.value + 1)  // overflows: a Swift trap in the domain's own thread
      })
    else { return .failure(.failed(code: 1)) }
    return .success(())
  }

  func rounds() -> Result<Int, RpcError> { .success(loopRounds.value) }

  func waitForSignal(milliseconds: Int) -> Result<Bool, RpcError> {
    guard let event = DomainEvent(number: 0) else { return .failure(.failed(code: 1)) }
    let seen = event.count
    let now = event.wait(after: seen, timeoutNanoseconds: UInt64(max(0, milliseconds)) * 1_000_000)
    return .success(now != seen)
  }

  func signalLater(milliseconds: Int) -> Result<Void, RpcError> {
    guard
      DomainThread.spawn({
        DomainThread.sleep(nanoseconds: UInt64(max(0, milliseconds)) * 1_000_000)
        DomainEvent(number: 0)?.signal()
      })
    else { return .failure(.failed(code: 1)) }
    return .success(())
  }

  func startSpinners(_ count: Int, milliseconds: Int) -> Result<Int, RpcError> {
    let spins = self.spins
    let deadline = DomainKernel.nanoseconds + UInt64(max(0, milliseconds)) * 1_000_000
    var started = 0
    while started < count
      && DomainThread.spawn({
        while DomainKernel.nanoseconds < deadline { _ = spins.add(1) }
      })
    {
      started += 1
    }
    return .success(started)
  }

  func hoard() -> Result<Int, RpcError> {
    while let buffer = RRef(InlineArray<1024, UInt8>(repeating: 0x5A)) {
      hoarded = HoardedBuffer(buffer, next: hoarded)
      hoardedCount += 1
    }
    return .success(hoardedCount)
  }

  func dropHoard() -> Result<Void, RpcError> {
    // One link at a time: releasing the head would release the whole chain recursively,
    // a frame per buffer, on the caller's stack.
    var link = hoarded
    hoarded = nil
    while let current = link { link = current.next }
    hoardedCount = 0
    return .success(())
  }

  func flood(lines count: Int) -> Result<Void, RpcError> {
    for line in 0..<count { DomainKernel.log("flood line \(line)") }
    return .success(())
  }
}

/// Shared-heap buffers `hoard` keeps, in a chain (an array cannot hold noncopyable RRefs).
final class HoardedBuffer {
  let buffer: RRef<InlineArray<1024, UInt8>>
  let next: HoardedBuffer?

  init(_ buffer: consuming RRef<InlineArray<1024, UInt8>>, next: HoardedBuffer?) {
    self.buffer = buffer
    self.next = next
  }
}
