/// The shell's network commands: `net`, `arp` and `ping`, answered by the network stack
/// domain through its NetworkControl interface.
import Packets
import SwiftletInterfaces
import SwiftletLib

extension Shell {
  /// `net`: the interface, its address, its counters and its drops by reason.
  static func showNetwork() {
    guard let control = networkControl(), let status = answer(control.status()) else { return }
    guard status.hasDevice else {
      Console.print("net: no network device (boot with a NIC: make run NET=virtio or NET=e1000)")
      return
    }
    Console.print(
      "net: \(status.driver.name), mac \(status.mac.description), link \(status.linkUp ? "up" : "down")"
    )
    if status.source == .none {
      Console.print("  no address yet (DHCP is asking)")
    } else {
      Console.print(
        "  address \(status.address.description)/\(status.prefixLength) gw \(status.gateway.description) (\(status.source.name))"
      )
    }
    Console.print(
      "  received \(status.receivedFrames) frames, \(status.receivedBytes) bytes; sent \(status.sentFrames) frames, \(status.sentBytes) bytes"
    )
    var drops = TextLine("  dropped:")
    var total: UInt64 = 0
    for reason in DropReason.allCases where status.drops[reason.rawValue] > 0 {
      drops.append(" \(reason.name) \(status.drops[reason.rawValue])")
      total += status.drops[reason.rawValue]
    }
    if total == 0 { drops.append(" none") }
    Console.print(drops)
    Console.print("  driver restarts: \(status.driverRestarts)")
  }

  /// `arp`: the stack's ARP cache.
  static func showARP() {
    guard let control = networkControl() else { return }
    var index = 0
    while let reply = answer(control.arpEntry(at: index)), let entry = reply {
      let tenths = entry.expiresInMilliseconds / 100
      Console.print(
        "  \(entry.address.description) \(entry.mac.description), expires in \(tenths / 10).\(tenths % 10) s"
      )
      index += 1
    }
    Console.print("\(index) entr\(index == 1 ? "y" : "ies")")
  }

  /// `ping ADDRESS [COUNT]`: ICMP echo requests, one a second, each waiting up to a
  /// second for its reply.
  static func ping(_ arguments: ArraySlice<Substring>) {
    let usage: TextLine = "usage: ping ADDRESS [COUNT], COUNT 1 to 100 (e.g. ping 10.0.2.2 3)"
    guard let text = arguments.first, arguments.count <= 2 else {
      Console.print(usage)
      return
    }
    guard let address = IPv4Address(text) else {
      Console.print("ping: '\(String(text))' is not an IPv4 address like 10.0.2.2")
      return
    }
    var count = 4
    if arguments.count == 2 {
      guard let wanted = Int(arguments[arguments.startIndex + 1]), (1...100).contains(wanted)
      else {
        Console.print(usage)
        return
      }
      count = wanted
    }
    guard let control = networkControl() else { return }
    var received = 0
    for sequence in 1...count {
      let sent = Clock.nanoseconds
      guard
        let outcome = answer(
          control.ping(address, sequence: UInt16(sequence), timeoutNanoseconds: 1_000_000_000))
      else { return }
      switch outcome {
      case .reply(let nanoseconds):
        received += 1
        let microseconds = nanoseconds / 1000
        Console.print(
          "reply from \(address.description): seq \(sequence) time \(microseconds / 1000).\(hundredths(microseconds)) ms"
        )
      case .timedOut:
        Console.print("no reply from \(address.description): seq \(sequence) timed out")
      case .unreachable:
        Console.print("ping: \(address.description) is unreachable (no ARP reply)")
      case .noNetwork:
        Console.print("ping: the stack has no address or no device yet")
        return
      }
      if sequence < count {
        let elapsed = Clock.nanoseconds - sent
        if elapsed < 1_000_000_000 { Scheduler.sleep(nanoseconds: 1_000_000_000 - elapsed) }
      }
    }
    Console.print(
      "\(count) sent, \(received) received, \((count - received) * 100 / count)% lost")
  }

  private static func hundredths(_ microseconds: UInt64) -> TextLine {
    let value = microseconds % 1000 / 10
    return value < 10 ? "0\(value)" : "\(value)"
  }

  /// The stack's control interface, or nil (and a line saying why).
  private static func networkControl() -> NetworkControlProxy? {
    guard case .success(let control) = NetworkControlProxy.connect() else {
      Console.print("net: no network stack (the 'net' domain is not loaded)")
      return nil
    }
    return control
  }

  /// The value of a call to the stack, or nil (and a line saying what went wrong).
  private static func answer<Value>(_ result: Result<Value, RpcError>) -> Value? {
    switch result {
    case .success(let value):
      return value
    case .failure(let error):
      Console.print("net: the stack did not answer: \(error.summary)")
      return nil
    }
  }
}
