/// The stack's receive thread: keeps the driver's receive ring posted, takes in what
/// arrives, sends the answers back in the same buffers, queues datagrams for sockets,
/// runs the timers, and restarts the driver when it crashes.
///
/// One round: post empty buffers and collect received frames in one `receive` call;
/// give each frame to the stack core; send its replies, what the timers have due and
/// the datagrams whose ARP resolved, in one `transmit` call; then, unless the batch was
/// full, wait for frames until the next timer (at most `idleWait`). Posting comes first, so
/// the ring is refilled before buffers go anywhere else.
import Packets
import SwiftletInterfaces
import SwiftletLib

extension NetworkStackService {
  static let idleWait: UInt64 = 250_000_000
  static let shortestWait: UInt64 = 1_000_000
  static let restartBackoff: UInt64 = 100_000_000
  static let refillBatch = 8
  /// What one `receive` gives back at most (a deque's room).
  static let batchSize = 32

  func receiveLoop() {
    // A driver that is down as the stack starts (it crashed, or it is restarting) is
    // waited for; only a missing driver or device ends the thread.
    var reported = false
    connecting: while true {
      switch link.connect() {
      case .ready: break connecting
      case .absent(let problem):
        DomainKernel.log("net: no network device: \(problem)")
        return
      case .down(let problem):
        if !reported {
          reported = true
          DomainKernel.log("net: no network device yet: \(problem); trying again")
        }
        DomainThread.sleep(nanoseconds: Self.restartBackoff)
      }
    }
    guard let info = link.info else { return }
    stack.start(mac: info.mac, now: DomainKernel.nanoseconds)
    reportEvents()
    var ring: PacketDeque?
    var replies: PacketDeque?
    while true {
      if link.isBroken && !restartDriver() {
        DomainThread.sleep(nanoseconds: Self.restartBackoff)
        continue
      }
      guard let posting = Self.reuse(&ring), let outgoing = Self.reuse(&replies) else {
        DomainThread.sleep(nanoseconds: Self.restartBackoff)  // the shared heap is full
        continue
      }
      var received = 0
      if let frames = exchange(posting) {
        received = handle(frames, replies: outgoing)
        ring = consume frames
      }
      addTimerFrames(to: outgoing)
      retryAwaitingResolution(into: outgoing)
      sockets.signalArrivals()
      replies = transmit(outgoing)
      reportEvents()
      // A batch short of full took everything there was: wait (the wait returns at once if
      // more came meanwhile), rather than ask again with the deque moved both ways.
      if received < Self.batchSize && !link.isBroken { waitForFrames() }
    }
  }

  /// The deque kept from the last round, or a new one.
  private static func reuse(_ kept: inout PacketDeque?) -> PacketDeque? {
    if let deque = kept.take() { return deque }
    return PacketDeque()
  }

  /// Posts empty buffers up to the ring's target and collects what the driver received
  /// (and the empty buffers it had no room for). Nil if the driver call failed.
  private func exchange(_ deque: consuming PacketDeque) -> PacketDeque? {
    var added = 0
    // Refilled in batches: every buffer moved costs an adoption in the kernel, and a
    // refill of one buffer per frame would move one each round; but never let the ring
    // run below half.
    let missing = link.ringTarget - link.posted
    let wanted = missing >= Self.refillBatch || link.posted < link.ringTarget / 2 ? missing : 0
    while added < wanted, !deque.isFull, let buffer = pool.take() {
      buffer.mark(.empty, length: 0)
      if let refused = deque.pushBack(buffer) {
        pool.put(refused)
        break
      }
      added += 1
    }
    guard let driver = link.proxy else { return nil }
    link.posted += added
    switch driver.receive(deque) {
    case .success(let back):
      link.posted = max(0, link.posted - back.count)
      return back
    case .failure(let error):
      link.failed(error)
      return nil
    }
  }

  /// Gives each received frame to the stack core and does what it says; returns how
  /// many frames there were.
  private func handle(_ frames: borrowing PacketDeque, replies: borrowing PacketDeque) -> Int {
    guard !frames.isEmpty else { return 0 }
    FaultInjection.checkpoint(.stackInput)
    let now = DomainKernel.nanoseconds
    var received = 0
    var changed = false
    while let buffer = frames.popFront() {
      guard buffer.status == .received else {
        pool.put(buffer)
        continue
      }
      received += 1
      let action = buffer.withFrame { frame, length in
        stack.input(&frame, length: length, now: now)
      }
      switch action {
      case .reply(let length):
        // Answered in place: the same buffer goes back out.
        buffer.mark(.empty, length: length)
        if let refused = replies.pushBack(buffer) { pool.put(refused) }
      case .deliver(let delivery):
        deliver(buffer, delivery)
      case .consumed:
        changed = true
        pool.put(buffer)
      case .drop:
        pool.put(buffer)
      }
    }
    if changed { stackChanged?.signal() }
    return received
  }

  /// Queues a datagram for its socket, or drops it (counted) if the socket's queue, or
  /// all queues together, are full.
  private func deliver(_ buffer: consuming RRef<PacketBuffer>, _ delivery: Delivery) {
    guard let queue = sockets.queue(delivery.socket) else {
      stack.countDrop(.noSocket)
      pool.put(buffer)
      return
    }
    guard !queue.isFull else {
      queue.dropped &+= 1
      stack.countDrop(.socketQueueFull)
      pool.put(buffer)
      return
    }
    guard sockets.totalQueued < SocketQueues.totalLimit else {
      stack.countDrop(.noBuffer)
      pool.put(buffer)
      return
    }
    buffer.update { packet in
      packet.status = .received
      packet.length = UInt16(clamping: NetworkStack.udpPayloadOffset + delivery.payloadLength)
      packet.datagram = DatagramInfo(
        remote: delivery.remote, localPort: delivery.localPort,
        payloadLength: UInt16(clamping: delivery.payloadLength))
    }
    if let refused = queue.push(buffer) {
      pool.put(refused)
      return
    }
    queue.unsignalled = true
  }

  /// Waits for frames until the next timer is due, at most `idleWait` (sooner if frames
  /// wait for room in the device).
  private func waitForFrames() {
    guard let driver = link.proxy else { return }
    let now = DomainKernel.nanoseconds
    let deadline = stack.nextDeadline()
    var timeout = deadline > now ? deadline - now : 0
    if !(link.backlog?.deque.isEmpty ?? true) { timeout = 0 }
    timeout = max(Self.shortestWait, min(timeout, Self.idleWait))
    if case .failure(let error) = driver.waitForFrames(timeoutNanoseconds: timeout) {
      link.failed(error)
    }
  }

  /// Restarts the crashed driver; false if it does not run again (yet).
  private func restartDriver() -> Bool {
    guard let driver = link.proxy else { return false }
    guard driver.recover() else {
      if !link.reportedDown {
        link.reportedDown = true
        DomainKernel.log(
          "net: the \(link.driverName.description) driver stopped and does not restart; trying again"
        )
      }
      return false
    }
    link.reportedDown = false
    link.restarts &+= 1
    link.isBroken = false
    link.posted = 0
    if case .success(let info) = driver.info() { link.info = info }
    DomainKernel.log(
      "net: the \(link.driverName.description) driver stopped; restarted it (\(link.restarts) so far) and posting new buffers"
    )
    return true
  }

  /// Logs what the stack core says happened.
  func reportEvents() {
    while let event = stack.takeEvent() {
      switch event {
      case .configured(let configuration):
        DomainKernel.log(
          "net: up \(configuration.address.description)/\(configuration.prefixLength) gw \(configuration.gateway?.description ?? "none") mac \(stack.mac.description) via \(link.driverName.description)"
        )
      case .dhcpSilent:
        DomainKernel.log(
          "net: no DHCP answer after \(DHCPClient.silentDiscoversReported) DISCOVERs; still asking"
        )
      case .addressLost:
        DomainKernel.log(
          "net: the address is gone (the DHCP lease ended or was refused); asking again")
      }
    }
  }
}
