/// The DHCP client's state machine (RFC 2131, section 4.4): DISCOVER until a server
/// offers an address, REQUEST it until the server acknowledges it, then keep it,
/// renewing at half the lease.
///
/// Every message is retransmitted on a timer: DISCOVER 1, 2, then every 4 seconds for as
/// long as nobody answers (after `silentDiscoversReported` unanswered ones the stack is
/// told once, to say so); REQUEST three times, 1 and 2 seconds apart, then it starts over
/// with a new DISCOVER. Timers run on the `now` the stack passes in; the client only
/// says what to send, the stack writes and sends it.

public struct DHCPClient {
  public enum Phase: Equatable {
    /// Sending DISCOVERs; no address.
    case selecting
    /// Sending REQUESTs for an offered address; no address yet.
    case requesting
    /// Configured; the lease runs.
    case bound
    /// Configured, asking the server to extend the lease.
    case renewing
  }

  /// A message the client wants sent.
  public struct Message: Equatable {
    public var type: DHCPMessageType
    public var transactionID: UInt32
    public var secondsElapsed: UInt16
    public var requestedAddress: IPv4Address?
    public var serverIdentifier: IPv4Address?
  }

  /// What a reply changed.
  public enum Outcome: Equatable {
    /// An offer was taken: the client REQUESTs it next.
    case offerTaken
    /// An address is configured (or its lease was extended).
    case bound(InterfaceAddress)
    /// The server refused the address: the client starts over without one.
    case refused
  }

  public let mac: MACAddress
  public private(set) var phase = Phase.selecting
  private var transactionID: UInt32
  /// Messages sent in this phase (in this exchange, for REQUESTs).
  private var sent = 0
  private var nextSendAt: UInt64
  private var startedAt: UInt64
  private var offeredAddress = IPv4Address.any
  private var server = IPv4Address.any
  private var renewAt = UInt64.max
  private var leaseEndsAt = UInt64.max
  public private(set) var configuration: InterfaceAddress?

  /// After this many DISCOVERs without an answer, `takeSilence` says so (once).
  public static var silentDiscoversReported: Int { 4 }
  private var discoversUnanswered = 0
  private var silenceReported = false
  private var silenceToReport = false

  static var requestAttempts: Int { 3 }

  public init(mac: MACAddress, now: UInt64, seed: UInt32) {
    self.mac = mac
    transactionID = seed
    nextSendAt = now
    startedAt = now
  }

  /// The message due by `now`, if any, counting it as sent. Also ends a lease that ran
  /// out, and starts over after REQUESTs that went unanswered.
  @inline(__always)
  public mutating func poll(now: UInt64) -> Message? {
    if phase == .bound || phase == .renewing, now >= leaseEndsAt {
      startOver(now: now)
    }
    if phase == .bound {
      guard now >= renewAt else { return nil }
      phase = .renewing
      sent = 0
      nextSendAt = now
    }
    guard now >= nextSendAt else { return nil }
    if phase == .requesting && sent >= Self.requestAttempts { startOver(now: now) }
    sent += 1
    let seconds = StackTime.elapsed(from: startedAt, to: now) / StackTime.second
    var message = Message(
      type: .discover, transactionID: transactionID,
      secondsElapsed: UInt16(min(seconds, UInt64(UInt16.max))))
    let delay: UInt64
    switch phase {
    case .selecting:
      discoversUnanswered += 1
      if discoversUnanswered >= Self.silentDiscoversReported && !silenceReported {
        silenceReported = true
        silenceToReport = true
      }
      delay = sent == 1 ? 1 : sent == 2 ? 2 : 4
    case .requesting, .renewing:
      message.type = .request
      message.requestedAddress = offeredAddress
      message.serverIdentifier = server
      // Renewing, the client keeps asking every 4 s until the lease ends.
      delay = phase == .renewing ? 4 : UInt64(sent)
    case .bound:
      return nil
    }
    nextSendAt = StackTime.after(now, delay * StackTime.second)
    return message
  }

  /// True once, after `silentDiscoversReported` DISCOVERs went unanswered.
  @inline(__always)
  public mutating func takeSilence() -> Bool {
    defer { silenceToReport = false }
    return silenceToReport
  }

  /// Takes a server's reply; what changed, if anything. Replies to other clients or
  /// other exchanges, and replies that come in the wrong phase, change nothing.
  @inline(__always)
  public mutating func receive(_ reply: DHCPReply, now: UInt64) -> Outcome? {
    guard reply.transactionID == transactionID, reply.clientMAC == mac else { return nil }
    switch (phase, reply.messageType) {
    case (.selecting, .offer):
      guard let serverIdentifier = reply.serverIdentifier, isUsable(reply.yourAddress) else {
        return nil
      }
      offeredAddress = reply.yourAddress
      server = serverIdentifier
      discoversUnanswered = 0
      phase = .requesting
      sent = 0
      nextSendAt = now
      return .offerTaken
    case (.requesting, .ack), (.renewing, .ack):
      guard reply.yourAddress == offeredAddress else { return nil }
      // Without a usable mask, assume the /24 every QEMU network has.
      var prefix: UInt8 = 24
      if let mask = reply.subnetMask, let length = InterfaceAddress.prefixLength(ofMask: mask) {
        prefix = length
      }
      var configuration = InterfaceAddress(
        address: reply.yourAddress, prefixLength: prefix, gateway: nil)
      if let router = reply.router, configuration.isLocal(router), router != reply.yourAddress {
        configuration.gateway = router
      }
      self.configuration = configuration
      phase = .bound
      // No lease time, or "infinite" (all ones): keep the address until restarted.
      if let lease = reply.leaseSeconds, lease != .max {
        let leaseTime = UInt64(lease) * StackTime.second
        renewAt = StackTime.after(now, leaseTime / 2)
        leaseEndsAt = StackTime.after(now, leaseTime)
      } else {
        renewAt = .max
        leaseEndsAt = .max
      }
      return .bound(configuration)
    case (.requesting, .nak), (.renewing, .nak):
      startOver(now: now)
      return .refused
    default:
      return nil
    }
  }

  /// When `poll` next has something to do.
  @inline(__always)
  public func nextDeadline() -> UInt64 {
    switch phase {
    case .bound: min(renewAt, leaseEndsAt)
    case .renewing: min(nextSendAt, leaseEndsAt)
    case .selecting, .requesting: nextSendAt
    }
  }

  @inline(__always)
  func isUsable(_ address: IPv4Address) -> Bool {
    address != .any && address != .broadcast && address.byte(0) < 224 && address.byte(0) != 127
  }

  /// Back to DISCOVER, with a new transaction and no address.
  @inline(__always)
  mutating func startOver(now: UInt64) {
    phase = .selecting
    configuration = nil
    transactionID = transactionID &* 1_103_515_245 &+ 12_345
    sent = 0
    nextSendAt = now
    renewAt = .max
    leaseEndsAt = .max
  }
}
