/// The UDP echo server (RFC 862): every datagram to port 7 goes back to its sender.
///
/// It runs in its own domain, on its own thread, over the stack's DatagramSockets, so a
/// datagram crosses driver, stack and application domains. Zero-copy: the buffers the
/// stack hands over are sent back as they are; a received buffer already says who sent
/// it (`datagram.remote`), which is where `send` sends it, and the stack rewrites the
/// headers in place. One `sendAndReceive` call sends the answers and brings the next
/// datagrams. If the stack crashes, the server restarts it and opens its socket
/// again; while it is down it waits, never spins.
import Packets
import SwiftletInterfaces
import SwiftletLib

final class EchoService {
  init() {
    guard DomainThread.spawn({ EchoServer().run() }) else {
      DomainKernel.log("echo: cannot start its thread (the thread quota is spent)")
      return
    }
  }
}

struct EchoServer {
  static let port: UInt16 = 7
  /// How long one `receive` waits: well inside the stack's time budget per call.
  static let receiveWait: UInt64 = 1_000_000_000
  static let retryDelay: UInt64 = 100_000_000
  static let longestRetryDelay: UInt64 = 2_000_000_000

  func run() {
    guard case .success(let sockets) = DatagramSocketsProxy.connect() else {
      DomainKernel.log("echo: no network stack to serve on (DatagramSockets is not exported)")
      return
    }
    var delay = Self.retryDelay
    // Kept across a failed call: a call can fail while the stack, and the socket in it,
    // live on (a call of the stack's into its NIC driver failed under it), and a
    // second socket on the port would be refused for as long as the first one is open.
    // If the stack did restart, the next call says the socket is gone.
    var socket: UDPSocket? = nil
    while true {
      var served = false
      let stop = serve(sockets, &socket, served: &served)
      if served { delay = Self.retryDelay }
      switch stop {
      case .stackDown(let error):
        // Restarts the stack if it crashed; a running one (or none) changes nothing.
        let running = sockets.recover()
        DomainKernel.log(
          "echo: the network stack failed (\(error.summary.description)); \(running ? "it runs" : "it does not run yet"), serving port \(Self.port) again"
        )
      case .socketLost:
        socket = nil
        DomainKernel.log("echo: the socket on port \(Self.port) is gone; reopening it")
      case .cannotOpen(let reason):
        DomainKernel.log(
          "echo: cannot open port \(Self.port) (socket error \(reason.rawValue)); trying again")
      case .noMemory:
        break
      }
      DomainThread.sleep(nanoseconds: delay)
      delay = min(delay * 2, Self.longestRetryDelay)
    }
  }

  enum Stop {
    case stackDown(RpcError)
    case socketLost
    case cannotOpen(SocketError)
    case noMemory
  }

  /// Opens the port unless `socket` is open already, and echoes until something stops
  /// it; `served` says whether it got as far as serving.
  private func serve(_ sockets: DatagramSocketsProxy, _ open: inout UDPSocket?, served: inout Bool)
    -> Stop
  {
    let socket: UDPSocket
    if let kept = open {
      socket = kept
    } else {
      switch sockets.open(port: Self.port) {
      case .success(let opened): socket = opened
      case .failure(let error): return stop(for: error)
      }
      open = socket
      DomainKernel.log("echo: serving UDP port \(Self.port)")
    }
    served = true
    guard var answers = PacketDeque() else { return .noMemory }
    while true {
      // The answers go out and the next datagrams come back in the same call.
      switch sockets.sendAndReceive(socket, answers, timeoutNanoseconds: Self.receiveWait) {
      case .success(let datagrams):
        answers = datagrams
        FaultInjection.checkpoint(.echoReply)  // holding datagrams not yet answered
        dropUnsent(answers)
      case .failure(let error):
        return stop(for: error)
      }
    }
  }

  /// Drops the answers the stack could not send (it says why in each): UDP loses them.
  /// The datagrams received stay, in order, to be echoed.
  private func dropUnsent(_ datagrams: borrowing PacketDeque) {
    for _ in 0..<datagrams.count {
      guard let datagram = datagrams.popFront() else { break }
      guard datagram.read({ $0.status }) == .received else { continue }  // freed here
      _ = datagrams.pushBack(datagram)  // room: it was just taken out
    }
  }

  private func stop(for error: RpcError) -> Stop {
    switch SocketError(error) {
    case .badSocket?: return .socketLost
    case let reason?: return .cannotOpen(reason)
    case nil: return .stackDown(error)
    }
  }
}

typealias PacketDeque = RRefDeque<PacketBuffer, 32>
