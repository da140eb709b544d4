/// A domain written to attack the system from inside the rules: it passes the safety
/// lint and the compiler, and tries every way out of its box that does not need unsafe
/// code (the classes of docs/SECURITY.md). kernel/test/HostileTests.swift calls it and
/// checks that each attack is contained.
import SwiftletInterfaces
import SwiftletLib

/// A 4 KiB shared-heap buffer, the unit the hoarding attack takes.
typealias Page = InlineArray<4096, UInt8>

final class HostileService: Hostile {
  /// What the hoarding attack holds: kept until the domain dies.
  private var hoard: Hoard? = nil

  func reenterAndTrap() -> Result<Int, RpcError> {
    guard case .success(let relay) = RelayProxy.connect() else { return .failure(.notConnected) }
    // Relay calls `trap` below, which kills this domain. If the kernel let this frame
    // run on in the dead domain, it would return 7 and the caller would see it.
    switch relay.bounce() {
    case .success: return .success(7)
    case .failure(let error): return .failure(error)
    }
  }

  func trap() -> Result<Void, RpcError> {
    var value = Int.max - Int(DomainKernel.nanoseconds & 1)
    value += 2  // overflows: a Swift runtime trap
    return value == 0 ? .success(()) : .failure(.failed(code: Int32(truncatingIfNeeded: value)))
  }

  func squeeze(depth: Int) -> Result<Int, RpcError> {
    .success(descend(depth))
  }

  /// Recursion `depth` frames deep, ending in a kernel call (an allocation on the
  /// domain's private heap) wherever the stack is then.
  private func descend(_ depth: Int) -> Int {
    if depth <= 0 {
      let box = Box(Int(DomainKernel.nanoseconds & 0xff))
      return box.value
    }
    var frame = InlineArray<24, Int>(repeating: depth)
    frame[depth % 24] = descend(depth - 1)
    return frame[0] &+ frame[depth % 24]
  }

  func hoardSharedHeap() -> Result<Int, RpcError> {
    var bytes = 0
    while let page = RRef(Page(repeating: 0xA5)) {
      hoard = Hoard(page, next: hoard)
      bytes += 4096
    }
    return .success(bytes)
  }

  func spawnThreads() -> Result<Int, RpcError> {
    var count = 0
    while DomainThread.spawn({
      while true { DomainThread.sleep(nanoseconds: 1_000_000_000) }
    }) {
      count += 1
      if count == 100_000 { break }
    }
    return .success(count)
  }

  func spinThreads(count: Int) -> Result<Int, RpcError> {
    var started = 0
    for _ in 0..<count {
      guard
        DomainThread.spawn({
          var spins = 0
          while true {
            spins &+= 1
            if spins & 0xFFFF == 0 { _ = DomainKernel.nanoseconds }
          }
        })
      else { break }
      started += 1
    }
    return .success(started)
  }

  func hammerBlockDevice() -> Result<Int, RpcError> {
    var started = 0
    for seed in 1...2 {
      guard DomainThread.spawn({ Hammer.run(seed: UInt64(seed)) }) else { break }
      started += 1
    }
    return .success(started)
  }

  func fetchSlowValues() -> Result<Void, RpcError> {
    let started = DomainThread.spawn({
      guard case .success(let relay) = RelayProxy.connect() else { return }
      while true { _ = relay.slowValue(milliseconds: 20) }
    })
    return started ? .success(()) : .failure(.failed(code: 1))
  }

  func sleepPastBudget(milliseconds: Int) -> Result<Void, RpcError> {
    for _ in 0..<milliseconds { DomainThread.sleep(nanoseconds: 1_000_000) }
    return .success(())
  }

  func workBetweenNestedCalls(milliseconds: Int) -> Result<Int, RpcError> {
    guard case .success(let relay) = RelayProxy.connect() else { return .failure(.notConnected) }
    let end = DomainKernel.nanoseconds + UInt64(milliseconds) * 1_000_000
    var pings = 0
    while DomainKernel.nanoseconds < end {
      let slice = DomainKernel.nanoseconds + 100_000
      while DomainKernel.nanoseconds < slice {}
      if case .success = relay.ping() { pings += 1 }
    }
    return .success(pings)
  }

  func flood(lines: Int) -> Result<Void, RpcError> {
    for line in 0..<lines { DomainKernel.log("flood \(line) of \(lines)") }
    return .success(())
  }
}

/// A heap object, so that `descend` makes the kernel allocate.
final class Box {
  let value: Int
  init(_ value: Int) { self.value = value }
}

/// The hoard: a list of shared-heap pages.
final class Hoard {
  let page: RRef<Page>
  let next: Hoard?

  init(_ page: consuming RRef<Page>, next: Hoard?) {
    self.page = page
    self.next = next
  }
}

/// What each hammering thread does: batches of 32 reads of scattered blocks, submitted
/// to the block driver as fast as it answers, until the domain dies.
enum Hammer {
  static func run(seed: UInt64) {
    guard case .success(let disk) = BlockDeviceProxy.connect(),
      case .success(let geometry) = disk.geometry(), geometry.blockCount > 0
    else { return }
    var state = seed
    while true {
      guard let batch = RRefDeque<BlockRequest, 32>() else { continue }
      for _ in 0..<32 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        guard let request = RRef(BlockRequest(read: (state >> 33) % geometry.blockCount)) else {
          break
        }
        _ = batch.pushBack(request)
      }
      _ = disk.submit(batch)
    }
  }
}
