/// The network stack domain: IPv4 over one Ethernet NIC, for the other domains.
///
/// The protocols are the Packets library's `NetworkStack` (domains/lib/packets); this
/// domain gives it frames and buffers. Its receive thread (ReceiveLoop.swift) keeps the
/// driver's receive ring posted, takes in what arrives, answers ARP and pings in the
/// same buffer, queues datagrams for sockets and runs the timers (DHCP, ARP). Calls
/// from other domains open sockets and send and receive datagrams (SocketCalls.swift),
/// or ask for the stack's state and pings (below). The thread and the calls share this
/// object: the kernel lets one of them at a time run in the domain
/// (`DomainThread.spawn(sharing:)`).
import Packets
import SwiftletInterfaces
import SwiftletLib

final class NetworkStackService: DatagramSockets, NetworkControl {
  let stack: NetworkStack
  let pool = BufferPool()
  let sockets = SocketQueues()
  let link = DriverLink()
  /// Datagrams whose next hop's MAC address is being asked for.
  let awaitingResolution = HeldDeque()
  /// Signalled when the stack took something in itself (an ARP reply, a ping's answer,
  /// a DHCP reply): whoever waits for one looks again.
  let stackChanged = DomainEvent(number: 16)
  /// The longest a call waits (a socket's `receive`, a `ping`), whatever it asks: well
  /// inside the domain's time budget per call (5 s, domains/manifest.json), past which
  /// the kernel would end the domain.
  static let longestWait: UInt64 = 2_000_000_000

  init() {
    let option = DomainKernel.bootOption("ip")
    var mode = AddressingMode.dhcp
    switch AddressingMode.parse(bootOption: option) {
    case .success(let wanted): mode = wanted
    case .failure(let error):
      DomainKernel.log("net: ip=\(option ?? "") not understood (\(error.message)); using DHCP")
    }
    // The seed differs from one start of the domain to the next, so sockets from before
    // a restart are refused, not mistaken for new ones.
    stack = NetworkStack(
      mode: mode, seed: DomainKernel.nanoseconds &* 0x9E37_79B9_7F4A_7C15)
    guard DomainThread.spawn(sharing: self, { $0.receiveLoop() }) else {
      DomainKernel.log("net: cannot start the receive thread (the thread quota is spent)")
      return
    }
  }

  // MARK: - NetworkControl

  func status() -> Result<NetworkStatus, RpcError> {
    var status = NetworkStatus()
    if let info = link.info {
      status.hasDevice = info.hasDevice
      status.driver = info.driver
      status.mac = info.mac
      status.linkUp = info.linkUp
    }
    if let configuration = stack.configuration {
      if case .fixed = stack.mode { status.source = .fixed } else { status.source = .dhcp }
      status.address = configuration.address
      status.prefixLength = configuration.prefixLength
      status.gateway = configuration.gateway ?? .any
    }
    let counters = stack.counters
    status.receivedFrames = counters.receivedFrames
    status.receivedBytes = counters.receivedBytes
    status.sentFrames = counters.sentFrames
    status.sentBytes = counters.sentBytes
    for reason in DropReason.allCases { status.drops[reason.rawValue] = counters[reason] }
    status.driverRestarts = link.restarts
    return .success(status)
  }

  func arpEntry(at index: Int) -> Result<ARPEntry?, RpcError> {
    guard let entry = stack.arpEntry(at: index) else { return .success(nil) }
    let now = DomainKernel.nanoseconds
    let left = entry.expiresAt > now ? (entry.expiresAt - now) / 1_000_000 : 0
    return .success(
      ARPEntry(
        address: entry.address, mac: entry.mac,
        expiresInMilliseconds: UInt32(clamping: left)))
  }

  func ping(_ address: IPv4Address, sequence: UInt16, timeoutNanoseconds: UInt64) -> Result<
    PingOutcome, RpcError
  > {
    let start = DomainKernel.nanoseconds
    let deadline = start &+ min(timeoutNanoseconds, Self.longestWait)
    guard let ticket = stack.beginPing(to: address, sequence: sequence, now: start) else {
      return .success(.timedOut)  // as many pings as the stack tracks are out
    }
    defer { stack.endPing(ticket) }
    // Sent once the next hop's MAC address is known; then its reply is waited for.
    let sending = waitForStack(until: deadline) { () -> Transmission? in
      guard let buffer = pool.take() else { return nil }
      let now = DomainKernel.nanoseconds
      let outcome = buffer.withFrame { frame, _ in stack.writePing(ticket, into: &frame, now: now) }
      guard case .send(let length) = outcome else {
        pool.put(buffer)
        if outcome == .resolving { runTimers() }  // the ARP request goes out now
        return outcome == .resolving ? nil : outcome
      }
      buffer.mark(.empty, length: length)
      transmit(buffer)
      return outcome
    }
    switch sending {
    case nil: return .success(.timedOut)
    case .failed(.noNetwork)?: return .success(.noNetwork)
    case .failed?: return .success(.unreachable)
    case .send?, .resolving?: break
    }
    let time = waitForStack(until: deadline) { stack.pingReplyTime(ticket) }
    return .success(time.map { .reply(nanoseconds: $0) } ?? .timedOut)
  }

  /// Waits until `check` has an answer, looking again each time the stack takes
  /// something in, or until `deadline` passes (nil then). The count is read before
  /// looking, so a change between the look and the wait is not missed.
  func waitForStack<Answer>(until deadline: UInt64, _ check: () -> Answer?) -> Answer? {
    guard let event = stackChanged else { return check() }
    var seen = event.count
    while true {
      if let answer = check() { return answer }
      let now = DomainKernel.nanoseconds
      guard now < deadline else { return nil }
      seen = event.wait(after: seen, timeoutNanoseconds: deadline - now)
    }
  }
}
