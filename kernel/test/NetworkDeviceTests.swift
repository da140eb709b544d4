/// Tests of the NIC driver domain through its NetworkDevice interface, on QEMU's user
/// network, which answers ARP for the gateway 10.0.2.2.
///
/// They need a boot with a NIC on user networking, inside a network namespace with only
/// loopback (NETWORK.md), e.g. `-netdev user,id=n0 -device
/// virtio-net-pci,netdev=n0,disable-legacy=on`, so `all` leaves the group out. Whichever
/// driver serves NetworkDevice is tested: the kernel connects to the one whose device
/// is attached. They build an ARP request by hand, send it, and wait for the reply,
/// which proves both directions of the driver's DMA; they check lengths it must refuse;
/// and they crash the driver in the middle of a receive and of a transmit and check it
/// comes back and works.
import Memory
import Packets
import SwiftletInterfaces
import SwiftletLib

enum NetworkDeviceTests {
  static var tests: [KernelTest] {
    [
      KernelTest("net.device_info", deviceInfo),
      KernelTest("net.arp_answered", arpAnswered),
      KernelTest("net.bad_lengths_come_back", badLengthsComeBack),
      KernelTest("net.receive_keeps_its_capacity", receiveKeepsItsCapacity),
      KernelTest("net.a_wait_lets_a_transmit_in", aWaitLetsATransmitIn),
      KernelTest("net.crash_mid_receive_recovers", crashMidReceiveRecovers),
      KernelTest("net.crash_mid_transmit_recovers", crashMidTransmitRecovers),
    ]
  }

  /// QEMU's user network: the address it gives the guest, and its gateway.
  static let guest: [UInt8] = [10, 0, 2, 15]
  static let gateway: [UInt8] = [10, 0, 2, 2]

  /// The driver, and what it says about its device; a failure saying why there is none.
  private static func device(_ t: inout TestContext) -> (NetworkDeviceProxy, NetworkDeviceInfo)? {
    guard case .success(let device) = NetworkDeviceProxy.connect() else {
      t.expect(false, "cannot connect to NetworkDevice")
      return nil
    }
    guard case .success(let info) = device.info() else {
      t.expect(false, "info failed")
      return nil
    }
    guard info.hasDevice else {
      t.expect(false, "the driver has no device (boot with a NIC on -netdev user)")
      return nil
    }
    return (device, info)
  }

  /// The domain of the driver `info` names.
  private static func driverDomain(_ info: NetworkDeviceInfo) -> Domain? {
    DomainManager.lookup(info.driver.name.withUTF8Buffer { String(decoding: $0, as: UTF8.self) })
  }

  static func deviceInfo(_ t: inout TestContext) {
    guard let (device, info) = device(&t) else { return }
    // QEMU's first NIC gets 52:54:00:12:34:56 unless told otherwise.
    t.expect(
      info.mac == MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56), "MAC \(info.mac.description)")
    t.expect(info.linkUp, "the link is down")
    t.expect(info.maximumFrameLength == 1514, "maximum frame \(info.maximumFrameLength)")
    t.expect(
      info.receiveCapacity >= 32 && info.transmitCapacity >= 32,
      "capacities \(info.receiveCapacity) and \(info.transmitCapacity)")
    guard case .success(let counters) = device.counters() else {
      t.expect(false, "counters failed")
      return
    }
    t.expect(counters.resets >= 1, "the driver did not reset its device at start")
  }

  // MARK: Frames

  /// A deque of `count` empty buffers.
  private static func emptyBuffers(_ count: Int) -> RRefDeque<PacketBuffer, 32>? {
    guard let deque = RRefDeque<PacketBuffer, 32>() else { return nil }
    for _ in 0..<count {
      guard let buffer = RRef(PacketBuffer()), deque.pushBack(buffer) == nil else { return nil }
    }
    return deque
  }

  /// A buffer holding `bytes` as its frame.
  private static func frame(_ bytes: [UInt8]) -> RRef<PacketBuffer>? {
    guard let buffer = RRef(PacketBuffer()) else { return nil }
    buffer.update {
      for (index, byte) in bytes.enumerated() where index < $0.frame.count {
        $0.frame[index] = byte
      }
      $0.length = UInt16(bytes.count)
    }
    return buffer
  }

  /// An Ethernet broadcast ARP request from `mac` at 10.0.2.15 for 10.0.2.2 (RFC 826).
  static func arpRequest(from mac: MACAddress) -> [UInt8] {
    let own = (0..<6).map { mac.byte($0) }
    let ethernet = [UInt8](repeating: 0xFF, count: 6) + own + [0x08, 0x06]
    let arp: [UInt8] = [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]
    return ethernet + arp + own + guest + [UInt8](repeating: 0, count: 6) + gateway
  }

  /// Whether `buffer` holds the gateway's ARP reply to `mac` at 10.0.2.15.
  static func isARPReply(_ buffer: borrowing RRef<PacketBuffer>, to mac: MACAddress) -> Bool {
    buffer.read { packet in
      guard packet.status == .received, packet.length >= 42 else { return false }
      func bytes(_ range: Range<Int>) -> [UInt8] { range.map { packet.frame[$0] } }
      let own = (0..<6).map { mac.byte($0) }
      return bytes(0..<6) == own && bytes(12..<14) == [0x08, 0x06]
        && bytes(20..<22) == [0x00, 0x02] && bytes(28..<32) == gateway && bytes(32..<38) == own
        && bytes(38..<42) == guest
    }
  }

  /// Posts buffers, sends an ARP request for the gateway and waits up to three seconds
  /// for its reply and for the request's buffer to come back sent. Returns whether both
  /// happened.
  @discardableResult
  static func exchangeARP(
    _ device: NetworkDeviceProxy, _ mac: MACAddress, _ t: inout TestContext
  ) -> Bool {
    guard var posted = emptyBuffers(16), let request = frame(arpRequest(from: mac)),
      var sending = RRefDeque<PacketBuffer, 32>(), sending.pushBack(request) == nil
    else {
      t.expect(false, "shared heap full")
      return false
    }
    guard case .success(let none) = device.receive(posted) else {
      t.expect(false, "receive failed as a call")
      return false
    }
    posted = none
    var replied = false
    var sent = false
    let deadline = Clock.nanoseconds + 3_000_000_000
    while !(replied && sent) && Clock.nanoseconds < deadline {
      guard case .success(let back) = device.transmit(sending) else {
        t.expect(false, "transmit failed as a call")
        return false
      }
      while let buffer = back.popFront() {
        let status = buffer.read { $0.status }
        guard t.expect(status == .sent, "the ARP request came back \(status.rawValue)") else {
          return false
        }
        sent = true
      }
      sending = back
      if !replied {
        _ = device.waitForFrames(timeoutNanoseconds: 100_000_000)
      } else {
        Scheduler.sleep(nanoseconds: 1_000_000)
      }
      // What comes back is posted again by the next call; the reply is looked for here.
      guard case .success(let frames) = device.receive(posted) else {
        t.expect(false, "receive failed as a call")
        return false
      }
      for _ in 0..<frames.count {
        guard let buffer = frames.popFront() else { break }
        if isARPReply(buffer, to: mac) { replied = true }
        _ = frames.pushBack(buffer)
      }
      posted = frames
    }
    t.expect(replied, "no ARP reply from 10.0.2.2 in 3 s")
    t.expect(sent, "the ARP request's buffer never came back")
    return replied && sent
  }

  static func arpAnswered(_ t: inout TestContext) {
    guard let (device, info) = device(&t), case .success(let before) = device.counters() else {
      return
    }
    guard exchangeARP(device, info.mac, &t), case .success(let after) = device.counters() else {
      return
    }
    t.expect(after.sentFrames > before.sentFrames, "no frame counted as sent")
    t.expect(after.sentBytes >= before.sentBytes + 42, "sent bytes not counted")
    t.expect(after.receivedFrames > before.receivedFrames, "no frame counted as received")
    t.expect(after.receivedBytes >= before.receivedBytes + 42, "received bytes not counted")
    t.expect(after.resets == before.resets, "the device was reset")
  }

  static func badLengthsComeBack(_ t: inout TestContext) {
    guard let (device, info) = device(&t), case .success(let before) = device.counters(),
      let frames = RRefDeque<PacketBuffer, 32>()
    else { return }
    let request = arpRequest(from: info.mac)
    for length in [0, 13, 1515, 2048] {
      guard let buffer = frame(request) else { return }
      buffer.update { $0.length = UInt16(length) }
      _ = frames.pushBack(buffer)
    }
    guard case .success(let back) = device.transmit(frames) else {
      t.expect(false, "transmit failed as a call")
      return
    }
    var badLengths = 0
    while let buffer = back.popFront() {
      if buffer.read({ $0.status }) == .badLength { badLengths += 1 }
    }
    t.expect(badLengths == 4, "\(badLengths) of 4 frames came back with .badLength")
    guard case .success(let after) = device.counters() else { return }
    t.expect(
      after.transmitErrors == before.transmitErrors + 4,
      "\(after.transmitErrors - before.transmitErrors) transmit errors counted, not 4")
    t.expect(after.sentFrames == before.sentFrames, "a frame of bad length was sent")
  }

  /// Buffers past the receive capacity come back empty; the driver never holds more.
  static func receiveKeepsItsCapacity(_ t: inout TestContext) {
    guard let (device, info) = device(&t) else { return }
    var given = 0
    var returned = 0
    for _ in 0..<(Int(info.receiveCapacity) / 32 + 2) {
      guard let buffers = emptyBuffers(32) else {
        t.expect(false, "shared heap full")
        return
      }
      given += 32
      guard case .success(let back) = device.receive(buffers) else {
        t.expect(false, "receive failed as a call")
        return
      }
      returned += back.count
    }
    t.expect(
      given - returned <= Int(info.receiveCapacity),
      "the driver kept \(given - returned) buffers, more than its capacity \(info.receiveCapacity)")
    t.expect(returned >= 64 - 32, "only \(returned) buffers came back of \(given)")
  }

  /// A wait for frames gives the driver back while it sleeps: another thread's
  /// transmit runs meanwhile, and the wait ends on the interrupt of the reply, long
  /// before its timeout.
  static func aWaitLetsATransmitIn(_ t: inout TestContext) {
    guard let (device, info) = device(&t), let posted = emptyBuffers(16),
      case .success = device.receive(posted), case .success(let before) = device.counters()
    else {
      t.expect(false, "no buffers posted")
      return
    }
    nonisolated(unsafe) var sent = false
    let sender = Scheduler.spawn("arp sender") {
      Scheduler.sleep(nanoseconds: 20_000_000)
      guard let frames = RRefDeque<PacketBuffer, 32>(),
        let request = frame(arpRequest(from: info.mac)),
        frames.pushBack(request) == nil
      else { return }
      if case .success = device.transmit(frames) { sent = true }
    }
    guard let sender else {
      t.expect(false, "spawn failed")
      return
    }
    let start = Clock.nanoseconds
    let ready = device.waitForFrames(timeoutNanoseconds: 2_000_000_000)
    let waited = Clock.nanoseconds - start
    Scheduler.join(sender)
    t.expect(sent, "the transmit during the wait failed")
    t.expect(ready == .success(true), "the wait found no frame")
    t.expect(waited < 1_000_000_000, "the wait took \(waited / 1_000_000) ms: no interrupt woke it")
    guard case .success(let after) = device.counters() else { return }
    t.expect(after.interrupts > before.interrupts, "no interrupt counted")
    var replied = false
    let deadline = Clock.nanoseconds + 1_000_000_000
    while !replied && Clock.nanoseconds < deadline {
      guard let buffers = emptyBuffers(4), case .success(let frames) = device.receive(buffers)
      else {
        break
      }
      while let buffer = frames.popFront() { replied = replied || isARPReply(buffer, to: info.mac) }
      _ = device.waitForFrames(timeoutNanoseconds: 100_000_000)
    }
    t.expect(replied, "the reply never came")
  }

  // MARK: Crashes

  /// Crashes the driver at `point` during `call`, checks that the call says so and that
  /// what the driver held was reclaimed, restarts it and checks that it works.
  private static func crashAndRecover(
    at point: FaultPoint, _ t: inout TestContext,
    _ call: (NetworkDeviceProxy, MACAddress) -> RpcError?
  ) {
    guard let (device, info) = device(&t), let driver = driverDomain(info) else {
      t.expect(false, "no driver domain")
      return
    }
    TestDomains.settle(driver.name)
    let crashes = driver.crashes
    FaultPlan.arm(domain: driver.id, point: point.rawValue, after: 1)
    defer { FaultPlan.disarm() }
    let error = call(device, info.mac)
    t.expect(error == .domainCrashed, "the call was not ended by the planned crash")
    t.expect(driver.crashes == crashes + 1, "the driver did not crash once")
    t.expect(
      SharedMemory.statistics(for: SharedMemory.owner(driver.id)).allocations == 0,
      "the crashed driver's shared allocations were not reclaimed")
    guard t.expect(device.recover(), "the driver did not restart") else { return }
    // The new instance reset the device, which its predecessor left with buffers of
    // memory that is gone, and works.
    guard case .success(let again) = device.info(), t.expect(again.hasDevice, "no device after")
    else { return }
    exchangeARP(device, again.mac, &t)
  }

  static func crashMidReceiveRecovers(_ t: inout TestContext) {
    crashAndRecover(at: .frameReceive, &t) { device, _ in
      guard let buffers = emptyBuffers(8) else { return nil }
      guard case .failure(let error) = device.receive(buffers) else { return nil }
      return error
    }
  }

  static func crashMidTransmitRecovers(_ t: inout TestContext) {
    crashAndRecover(at: .frameTransmit, &t) { device, mac in
      guard let frames = RRefDeque<PacketBuffer, 32>() else { return nil }
      for _ in 0..<4 {
        guard let request = frame(arpRequest(from: mac)) else { return nil }
        _ = frames.pushBack(request)
      }
      guard case .failure(let error) = device.transmit(frames) else { return nil }
      return error
    }
  }
}
