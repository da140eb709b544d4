/// Tests of the e1000 driver domain alone, through its NetworkDevice interface, on QEMU's
/// user network (slirp): the device's identity, an ARP request for the gateway built by
/// hand and slirp's reply, lengths refused, and the driver crashed in the middle of a
/// transmit and of a receive, then restarted and working again.
///
/// The `e1000` group is left out of `all`: it needs a boot with an e1000 on a user
/// network (QEMU's default NIC is one) and, by the project's rule for network tests, a
/// QEMU inside a network namespace with only loopback. No frame leaves 10.0.2.0/24: the
/// only one sent to the network asks who has 10.0.2.2, which slirp answers itself.
import Memory
import Packets
import SwiftletInterfaces
import SwiftletLib

enum E1000DriverTests {
  static var tests: [KernelTest] {
    [
      KernelTest("e1000.info", info),
      KernelTest("e1000.arp_reply_arrives", arpReplyArrives),
      KernelTest("e1000.bad_lengths_come_back", badLengthsComeBack),
      KernelTest("e1000.crash_mid_transmit_recovers", crashMidTransmitRecovers),
      KernelTest("e1000.crash_mid_receive_recovers", crashMidReceiveRecovers),
    ]
  }

  static let guest = IPv4Address(10, 0, 2, 15)
  static let gateway = IPv4Address(10, 0, 2, 2)
  /// How long slirp's answer may take: the device holds receive for a second of virtual
  /// time after its one RCTL write, and again after a restart.
  static let answerTimeout: UInt64 = 5_000_000_000

  /// The driver and its device's information, or a failure saying why there is none.
  private static func nic(_ t: inout TestContext) -> (NetworkDeviceProxy, NetworkDeviceInfo)? {
    guard case .success(let nic) = NetworkDeviceProxy.connect() else {
      t.expect(false, "cannot connect to NetworkDevice")
      return nil
    }
    guard case .success(let info) = nic.info() else {
      t.expect(false, "info failed")
      return nil
    }
    guard info.driver == .e1000, info.hasDevice else {
      t.expect(false, "no e1000 behind NetworkDevice (boot with an e1000 on a user network)")
      return nil
    }
    return (nic, info)
  }

  static func info(_ t: inout TestContext) {
    guard let (_, info) = nic(&t) else { return }
    t.expect(
      info.mac == MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56), "MAC \(info.mac.description)")
    t.expect(info.linkUp, "the link is down")
    t.expect(info.maximumFrameLength == 1514, "longest frame \(info.maximumFrameLength)")
    t.expect(
      info.receiveCapacity == 63 && info.transmitCapacity == 63,
      "capacities \(info.receiveCapacity) and \(info.transmitCapacity), not 63 (64-descriptor rings)"
    )
  }

  // MARK: Frames

  /// `count` empty buffers in a batch.
  private static func empties(_ count: Int) -> RRefDeque<PacketBuffer, 32>? {
    guard let batch = RRefDeque<PacketBuffer, 32>() else { return nil }
    for _ in 0..<count {
      guard let buffer = RRef(PacketBuffer()), batch.pushBack(buffer) == nil else { return nil }
    }
    return batch
  }

  /// A batch holding frames of the given lengths, each an ARP request from `mac` for
  /// the gateway (cut or padded with zeros to its length).
  private static func arpRequests(from mac: MACAddress, lengths: [Int]) -> RRefDeque<
    PacketBuffer, 32
  >? {
    guard let batch = RRefDeque<PacketBuffer, 32>() else { return nil }
    let request = arpRequest(from: mac)
    for length in lengths {
      var buffer = PacketBuffer()
      for index in 0..<min(length, request.count) { buffer.frame[index] = request[index] }
      buffer.length = UInt16(length)
      guard let rref = RRef(buffer), batch.pushBack(rref) == nil else { return nil }
    }
    return batch
  }

  /// Who has 10.0.2.2? Tell 10.0.2.15 (RFC 826), broadcast.
  static func arpRequest(from mac: MACAddress) -> [UInt8] {
    var frame: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    for index in 0..<6 { frame.append(mac.byte(index)) }
    frame += [0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]
    for index in 0..<6 { frame.append(mac.byte(index)) }
    for index in 0..<4 { frame.append(guest.byte(index)) }
    frame += [0, 0, 0, 0, 0, 0]
    for index in 0..<4 { frame.append(gateway.byte(index)) }
    return frame
  }

  /// Whether `buffer` holds slirp's answer: an ARP reply to `mac` saying where 10.0.2.2 is.
  static func isGatewayReply(_ buffer: PacketBuffer, to mac: MACAddress) -> Bool {
    guard buffer.status == .received, buffer.length >= 42 else { return false }
    func byte(_ index: Int) -> UInt8 { buffer.frame[index] }
    let isARPReply =
      byte(12) == 0x08 && byte(13) == 0x06 && byte(20) == 0x00 && byte(21) == 0x02
    let fromGateway = (0..<4).allSatisfy { byte(28 + $0) == gateway.byte($0) }
    let toUs = (0..<6).allSatisfy { byte($0) == mac.byte($0) && byte(32 + $0) == mac.byte($0) }
    return isARPReply && fromGateway && toUs
  }

  /// Sends the ARP request and waits for slirp's reply, posting buffers as it goes.
  /// Returns what went wrong, or nil.
  static func exchangeARP(_ nic: NetworkDeviceProxy, mac: MACAddress) -> TextLine? {
    guard let initial = empties(16) else { return "shared heap full" }
    guard case .success(let back) = nic.receive(initial) else { return "receive failed" }
    var answered = scan(back, mac)
    guard let request = arpRequests(from: mac, lengths: [42]) else { return "shared heap full" }
    guard case .success(let sent) = nic.transmit(request) else { return "transmit failed" }
    guard let done = sent.popFront() else { return "transmit gave nothing back" }
    let status = done.read { $0.status }
    guard status == .sent else { return "the ARP request came back \(status.rawValue), not sent" }
    let deadline = Clock.nanoseconds + answerTimeout
    while !answered && Clock.nanoseconds < deadline {
      guard case .success = nic.waitForFrames(timeoutNanoseconds: 500_000_000) else {
        return "waitForFrames failed"
      }
      guard let refill = empties(4), case .success(let frames) = nic.receive(refill) else {
        return "receive failed"
      }
      answered = scan(frames, mac)
    }
    return answered ? nil : "no ARP reply from 10.0.2.2 within 5 s"
  }

  /// Whether `frames` holds the gateway's reply; frees them.
  private static func scan(_ frames: consuming RRefDeque<PacketBuffer, 32>, _ mac: MACAddress)
    -> Bool
  {
    var found = false
    while let frame = frames.popFront() {
      if frame.read({ isGatewayReply($0, to: mac) }) { found = true }
    }
    return found
  }

  static func arpReplyArrives(_ t: inout TestContext) {
    guard let (nic, info) = nic(&t) else { return }
    let before = (try? nic.counters().get()) ?? NetworkDeviceCounters()
    if let problem = exchangeARP(nic, mac: info.mac) { return fail(&t, problem) }
    guard case .success(let after) = nic.counters() else { return fail(&t, "counters failed") }
    t.expect(
      after.sentFrames == before.sentFrames + 1, "sent \(after.sentFrames - before.sentFrames)")
    t.expect(after.sentBytes == before.sentBytes + 42, "sent bytes \(after.sentBytes)")
    t.expect(after.receivedFrames > before.receivedFrames, "no frame counted as received")
    t.expect(after.receiveErrors == 0, "\(after.receiveErrors) receive errors")
    t.expect(after.resets == 1, "\(after.resets) resets")
  }

  static func badLengthsComeBack(_ t: inout TestContext) {
    guard let (nic, info) = nic(&t) else { return }
    let before = (try? nic.counters().get()) ?? NetworkDeviceCounters()
    let lengths = [0, 13, 1515, 2048, 65535]
    guard let frames = arpRequests(from: info.mac, lengths: lengths),
      case .success(let back) = nic.transmit(frames)
    else { return fail(&t, "transmit failed") }
    t.expect(back.count == lengths.count, "\(back.count) of \(lengths.count) came back")
    while let frame = back.popFront() {
      let (length, status) = frame.read { ($0.length, $0.status) }
      t.expect(status == .badLength, "a frame of \(length) bytes came back \(status.rawValue)")
    }
    guard case .success(let after) = nic.counters() else { return fail(&t, "counters failed") }
    t.expect(
      after.transmitErrors == before.transmitErrors + UInt64(lengths.count),
      "transmit errors \(after.transmitErrors - before.transmitErrors)")
    t.expect(after.sentFrames == before.sentFrames, "a bad frame was sent")
  }

  // MARK: Crashes

  static func crashMidTransmitRecovers(_ t: inout TestContext) {
    crashAndRecover(at: .frameTransmit, &t) { nic, mac in
      guard let request = arpRequests(from: mac, lengths: [42]) else { return nil }
      guard case .failure(let error) = nic.transmit(request) else { return .success(()) }
      return .failure(error)
    }
  }

  static func crashMidReceiveRecovers(_ t: inout TestContext) {
    crashAndRecover(at: .frameReceive, &t) { nic, _ in
      guard let batch = empties(8) else { return nil }
      guard case .failure(let error) = nic.receive(batch) else { return .success(()) }
      return .failure(error)
    }
  }

  /// Plans a crash at `point`, runs `call` (which returns nil if it could not start, and
  /// how the call ended otherwise), and checks that the driver crashed once, that
  /// nothing it held was left behind, and that after a restart it answers ARP again.
  private static func crashAndRecover(
    at point: FaultPoint, _ t: inout TestContext,
    _ call: (NetworkDeviceProxy, MACAddress) -> Result<Void, RpcError>?
  ) {
    guard let (nic, info) = nic(&t), let driver = DomainManager.lookup("e1000") else {
      return fail(&t, "no e1000 domain")
    }
    // Traffic first, so the device holds buffers of the instance about to crash.
    if let problem = exchangeARP(nic, mac: info.mac) { return fail(&t, problem) }
    TestDomains.settle("e1000")
    let crashes = driver.crashes
    FaultPlan.arm(domain: driver.id, point: point.rawValue, after: 1)
    defer { FaultPlan.disarm() }
    switch call(nic, info.mac) {
    case nil: return fail(&t, "shared heap full")
    case .success: return fail(&t, "the call came back: the planned crash did not happen")
    case .failure(let error):
      t.expect(
        error == .domainCrashed,
        "the call ended with \(RRefBatchTests.describe(error)), not a crash")
    }
    t.expect(driver.crashes == crashes + 1, "the driver did not crash once")
    t.expect(
      SharedMemory.statistics(for: SharedMemory.owner(driver.id)).allocations == 0,
      "the crashed driver's shared allocations (rings, buffers) were not reclaimed")
    guard t.expect(nic.recover(), "the driver did not restart") else { return }
    guard case .success(let counters) = nic.counters() else { return fail(&t, "counters failed") }
    t.expect(
      counters.resets == 1 && counters.sentFrames == 0, "counters did not start again from zero")
    // The restarted driver stopped the device and programmed it from scratch.
    if let problem = exchangeARP(nic, mac: info.mac) { fail(&t, "after the restart: \(problem)") }
  }

  private static func fail(_ t: inout TestContext, _ why: TextLine) { t.expect(false, why) }
}
