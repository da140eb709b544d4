/// The stack's side of its NIC driver: the proxy, what the driver said about its device,
/// how many empty buffers it holds, and what happens when it crashes.
///
/// The receive thread and the socket calls both call the driver (the domain is given
/// back during those calls, so both may be inside it at once; the driver serves them).
/// Whoever sees a call fail marks the link broken; only the receive thread restarts the
/// driver (`recover`), so a crash is counted once, and it posts fresh buffers after,
/// since the driver's were freed with it.
import Packets
import SwiftletInterfaces
import SwiftletLib

final class DriverLink {
  var proxy: NetworkDeviceProxy?
  var info: NetworkDeviceInfo?
  /// A call failed: the driver crashed, hung or is down.
  var isBroken = false
  var restarts: UInt64 = 0
  /// Said once that a restart failed, until one works.
  var reportedDown = false
  /// Empty buffers the driver holds for receiving, as far as the stack knows.
  var posted = 0
  /// Frames the driver had no room for, sent again with the next batch.
  let backlog: HeldDeque?

  /// How many empty buffers the stack keeps posted: the driver's room, bounded so that
  /// a driver asking for many cannot take the stack's whole share of the shared heap.
  static let receiveRingLimit = 64

  init() { backlog = HeldDeque() }

  var ringTarget: Int { min(Int(info?.receiveCapacity ?? 0), Self.receiveRingLimit) }

  var driverName: StaticString { info?.driver.name ?? "no driver" }

  /// What `connect` found.
  enum Connection {
    case ready
    /// No driver domain, or a driver with no device: nothing to wait for.
    case absent(String)
    /// The driver did not answer (it crashed, or is restarting): try again.
    case down(String)
  }

  /// Finds the driver and asks about its device. A driver that does not answer is
  /// asked to restart (`recover`), for the caller to try again.
  func connect() -> Connection {
    let driver: NetworkDeviceProxy
    if let known = proxy {
      driver = known
    } else {
      switch NetworkDeviceProxy.connect() {
      case .success(let found): driver = found
      case .failure: return .absent("no driver domain exports NetworkDevice")
      }
      proxy = driver
    }
    switch driver.info() {
    case .success(let found):
      info = found
      guard found.hasDevice else {
        return .absent(
          "the \(found.driver.name) driver has none (attach one: make run NET=virtio or NET=e1000)")
      }
      return .ready
    case .failure(let error):
      _ = driver.recover()
      return .down("the driver does not answer (\(error.summary))")
    }
  }

  /// A call to the driver failed: it crashed, ran out of time or is down. (Every
  /// error a NetworkDevice call returns is one of those.)
  func failed(_ error: RpcError) {
    isBroken = true
  }
}
