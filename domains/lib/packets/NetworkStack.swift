/// The network stack's core: one Ethernet interface's state and the rules that act on
/// it, without devices, threads or buffers of its own, so that host tests and the
/// fuzzer drive exactly the code the stack domain runs.
///
/// The owner hands it frames in place (`input`, in StackInput.swift) and gets back what
/// to do with each: drop it, send the same buffer back (rewritten into the reply), give
/// its datagram to a socket, or nothing more. It asks the core to build frames into
/// buffers it owns (`writeDatagram`, `writePing`, in StackOutput.swift), and calls
/// `poll` when `nextDeadline` comes, for what timers send (DHCP, ARP requests). Time
/// is the `now` each call passes in.
///
/// Its state is plain values in fixed tables (no heap, no deinit), and none of its
/// methods keeps an access to that state open across a call: the tables' methods are
/// `@inline(__always)` and the constants computed `static var`s (a stored `static let`
/// is a lazily made global, whose initializer is a call). The exclusivity check
/// (docs/EXCLUSIVITY.md) proves the accesses in Packets, and again in every domain that
/// uses the stack, whose SIL carries copies of these methods but sees the Packets
/// functions they would call only as opaque calls.
///
/// Nothing on the input path may trap on any input: each protocol's code checks every
/// offset against the frame's length before it reads, lengths come from the headers
/// (frames under 60 bytes arrive zero-padded), and arithmetic stays on values already
/// bounded by the frame.

public final class NetworkStack {
  /// The interface's address; zero until `start`.
  public private(set) var mac = MACAddress.zero
  public let mode: AddressingMode
  /// Varies what must differ from one start to the next (see `init`).
  private let seed: UInt64
  /// The address in use; nil until DHCP gets one.
  public private(set) var configuration: InterfaceAddress?
  public private(set) var counters = StackCounters()

  var arp = ARPCache()
  var dhcp: DHCPClient?
  var pings: PingTable
  var sockets: SocketTable
  /// The IPv4 identification of the next packet sent.
  var nextIdentification: UInt16
  private var events = EventQueue()

  /// Where a UDP payload starts in a frame the stack builds or delivers: after 14 bytes
  /// of Ethernet, 20 of IPv4 and 8 of UDP header.
  public static var udpPayloadOffset: Int {
    EthernetHeader.length + IPv4Header.minimumLength + UDPHeader.headerLength
  }
  /// The largest UDP payload one unfragmented frame carries.
  public static var udpPayloadCapacity: Int { EthernetHeader.maximumFrameLength - udpPayloadOffset }

  /// A stack that will use `mode` for its address. Sockets open at once; frames flow
  /// once `start` names the interface. `seed` varies what must differ from one start of
  /// the stack to the next: DHCP transaction IDs, ping identifiers, and socket
  /// generations (so that a socket opened before a restart is never taken for one
  /// opened after).
  public init(mode: AddressingMode, seed: UInt64) {
    self.mode = mode
    self.seed = seed
    pings = PingTable(firstIdentifier: UInt16(truncatingIfNeeded: seed >> 16))
    sockets = SocketTable(firstGeneration: UInt32(truncatingIfNeeded: seed >> 32) | 1)
    nextIdentification = UInt16(truncatingIfNeeded: seed)
  }

  /// Starts the interface at `mac`: takes the fixed address, or starts asking DHCP.
  /// Until then every frame is dropped and nothing can be sent.
  public func start(mac: MACAddress, now: UInt64) {
    guard self.mac == .zero, mac != .zero else { return }
    self.mac = mac
    switch mode {
    case .dhcp:
      dhcp = DHCPClient(
        mac: mac, now: now,
        seed: UInt32(truncatingIfNeeded: seed ^ mac.rawValue ^ (seed >> 29) ^ now))
    case .fixed(let configuration):
      configure(configuration)
    }
  }

  func report(_ event: StackEvent) { events.append(event) }

  /// The next thing the owner should hear about, oldest first.
  public func takeEvent() -> StackEvent? {
    events.takeFirst()
  }

  // MARK: - Timers

  /// Does what timers ask by `now`: ends expired ARP entries and DHCP leases, and builds
  /// into `frame` one frame that is due (a DHCP message, an ARP request); returns its
  /// length, or nil when nothing is due. Call it until it returns nil.
  public func poll(_ frame: inout MutableSpan<UInt8>, now: UInt64) -> Int? {
    if let message = pollDHCP(now: now) {
      return writeDHCP(message, into: &frame)
    }
    guard let address = arp.poll(now: now) else { return nil }
    guard let configuration else { return nil }
    EthernetHeader(destination: .broadcast, source: mac, etherType: EtherType.arp).write(
      into: &frame)
    return ARPPacket(
      operation: .request, senderMAC: mac, senderAddress: configuration.address,
      targetMAC: .zero, targetAddress: address
    ).write(into: &frame)
  }

  private func pollDHCP(now: UInt64) -> DHCPClient.Message? {
    guard dhcp != nil else { return nil }
    let message = dhcp?.poll(now: now)
    if dhcp?.configuration == nil { loseConfiguration() }
    if dhcp?.takeSilence() == true { report(.dhcpSilent) }
    return message
  }

  /// When `poll` next has work: the earliest timer, in the caller's clock.
  public func nextDeadline() -> UInt64 {
    min(dhcp?.nextDeadline() ?? .max, arp.nextDeadline)
  }

  // MARK: - Sockets

  /// Opens a UDP socket on `port` for `owner`; a port whose owner `isAlive` says has
  /// died is taken back (SocketTable.open).
  public func openSocket(
    port: UInt16, owner: UInt64 = 0, isAlive: (UInt64) -> Bool = { _ in true }
  ) -> Result<UDPSocket, SocketError> {
    // A client that crashed never closed its sockets: its port is taken back.
    if let holder = sockets.owner(of: port), !isAlive(holder), let held = sockets.socket(for: port) {
      _ = sockets.close(held)
    }
    return sockets.open(port: port, owner: owner)
  }

  /// Whether the socket was open (it is closed now).
  public func closeSocket(_ socket: UDPSocket) -> Bool { sockets.close(socket) }

  /// The port of an open socket; nil for one closed or never opened.
  public func port(of socket: UDPSocket) -> UInt16? { sockets.port(of: socket) }

  // MARK: - Pings

  /// Starts a ping of `address`: `writePing` builds its request. Nil if as many pings as
  /// the table holds are out.
  public func beginPing(to address: IPv4Address, sequence: UInt16, now: UInt64) -> PingTicket? {
    pings.start(address, sequence: sequence, now: now)
  }

  /// How long the reply took to come, once it has.
  public func pingReplyTime(_ ticket: PingTicket) -> UInt64? {
    guard let ping = pings.ping(ticket), let repliedAt = ping.repliedAt else { return nil }
    return StackTime.elapsed(from: ping.sentAt, to: repliedAt)
  }

  public func endPing(_ ticket: PingTicket) { pings.end(ticket) }

  // MARK: - State, for status and the shell

  public var arpEntryCount: Int { arp.count }

  public func arpEntry(at index: Int) -> ARPCache.Entry? { arp.entry(at: index) }

  /// Counts a frame the owner sent.
  public func countSent(length: Int) {
    counters.sentFrames &+= 1
    counters.sentBytes &+= UInt64(max(length, 0))
  }

  /// Counts a drop the owner decided (a full socket queue, no buffer).
  public func countDrop(_ reason: DropReason) {
    counters.drops[reason.rawValue] &+= 1
  }

  func countReceived(length: Int) {
    counters.receivedFrames &+= 1
    counters.receivedBytes &+= UInt64(max(length, 0))
  }

  /// Takes an address from DHCP: logged once per change.
  func configure(_ newConfiguration: InterfaceAddress) {
    guard newConfiguration != configuration else { return }
    configuration = newConfiguration
    report(.configured(newConfiguration))
  }

  func loseConfiguration() {
    guard configuration != nil else { return }
    configuration = nil
    report(.addressLost)
  }

  func takeIdentification() -> UInt16 {
    defer { nextIdentification &+= 1 }
    return nextIdentification
  }
}
