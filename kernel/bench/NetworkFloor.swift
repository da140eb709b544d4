/// The NIC echo floor (`netfloor` in the shell): the boot's NIC lent to the kernel and
/// driven by the simplest loop that can answer a UDP echo client, so that the network
/// benchmarks can measure, in the same boot, what QEMU and slirp take for an echo and
/// what the driver, stack and echo domains add on top.
///
/// The loop polls the device's receive ring (no interrupts, no domains, no copies): a
/// frame that is IPv4/UDP to 10.0.2.15 port 7 goes back from the same buffer with its
/// Ethernet, IP and UDP source and destination swapped (a swap leaves every checksum as
/// it was); an ARP request for 10.0.2.15 is answered in place (slirp resolves the guest
/// before it forwards a datagram); anything else is dropped and counted. Every frame
/// received in one poll is answered with one transmit notification: the batch floor.
///
/// Interface (scripts/bench_net.py drives it; each line starts `netfloor: `):
///
///   swiftlet> netfloor [SECONDS]
///   netfloor: e1000 8086:100e taken from domain 'e1000'   (or: from no driver domain)
///   netfloor: echo on e1000 mac 52:54:00:12:34:56 ip 10.0.2.15 udp port 7 ready
///   netfloor: stopped after 20.00 s: echoed=1000 arp=1 dropped=3 work_ticks_per_frame=812
///   netfloor: device given back to domain 'e1000' (running)
///             (or: netfloor: device released (no driver domain))
///
/// It runs SECONDS seconds (1 to 3600), or until a line arrives on the console, which
/// then runs as a shell command. `work_ticks_per_frame` counts only the polls that found
/// frames (under -icount: the floor's instructions per frame, device access included).
/// A failure prints one `netfloor: ...` line saying why, and gives the device back.
import PCI
import Packets

enum NetworkFloor {
  /// The guest's address on QEMU's user network, which slirp forwards to.
  static let address: UInt32 = 0x0A00_020F
  static let echoPort: UInt16 = 7
  /// Lower-priority threads (domains) get the CPU for a tick this often, so that no call
  /// into a domain outlives its watchdog budget while the loop holds the CPU.
  static let pauseEveryNanoseconds: UInt64 = 50_000_000

  struct Counts {
    var echoed: UInt64 = 0
    var arp: UInt64 = 0
    var dropped: UInt64 = 0
    /// Frames seen by polls that found any, and the ticks those polls took.
    var frames: UInt64 = 0
    var workTicks: UInt64 = 0
  }

  /// The shell command; returns the console line that stopped it, to be run next.
  static func command(_ arguments: ArraySlice<Substring>) -> String? {
    var seconds: UInt64?
    if let text = arguments.first {
      guard arguments.count == 1, let wanted = UInt64(text), (1...3600).contains(wanted) else {
        Console.print("usage: netfloor [SECONDS], SECONDS 1 to 3600 (else: until a line is typed)")
        return nil
      }
      seconds = wanted
    }
    if let virtio = FloorDevice.find(vendor: 0x1AF4, deviceIDs: [0x1041]) {
      return run(virtio, name: "virtio-net", seconds: seconds) { loan in
        VirtioNetFloor.start(loan)
      }
    }
    if let e1000 = FloorDevice.find(vendor: 0x8086, deviceIDs: [0x100E]) {
      return run(e1000, name: "e1000", seconds: seconds, quiesce: E1000Floor.quiesce) { loan in
        E1000Floor.start(loan)
      }
    }
    if FloorDevice.find(vendor: 0x1AF4, deviceIDs: [0x1000]) != nil {
      Console.print(
        "netfloor: the virtio-net device is transitional (1af4:1000); boot it with disable-legacy=on"
      )
    } else {
      Console.print("netfloor: no NIC: attach an e1000 (8086:100e) or a virtio-net (1af4:1041)")
    }
    return nil
  }

  private static func run<NIC: FloorNIC>(
    _ device: Device, name: StaticString, seconds: UInt64?,
    quiesce: (Device) -> Void = { _ in }, start: (FloorDevice) -> Result<NIC, FloorError>
  ) -> String? {
    let identity =
      String(device.header.vendorID, radix: 16) + ":" + String(device.header.deviceID, radix: 16)
    let loan: FloorDevice
    switch FloorDevice.take(device, quiesce: quiesce) {
    case .success(let taken): loan = taken
    case .failure(let error):
      Console.print("netfloor: cannot take the \(name) \(identity): \(error.message)")
      return nil
    }
    Console.print("netfloor: \(name) \(identity) taken from \(loan.driverNames)")
    var line: String?
    switch start(loan) {
    case .success(let nic):
      Console.print(
        "netfloor: echo on \(name) mac \(nic.mac.description) ip \(IPv4Address(rawValue: address).description) udp port \(echoPort) ready"
      )
      let began = Clock.nanoseconds
      var counts = Counts()
      line = serve(nic, seconds: seconds, &counts)
      nic.stop()
      let hundredths = (Clock.nanoseconds - began) / 10_000_000
      let perFrame = counts.frames == 0 ? 0 : counts.workTicks / counts.frames
      Console.print(
        "netfloor: stopped after \(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100) s: echoed=\(counts.echoed) arp=\(counts.arp) dropped=\(counts.dropped) work_ticks_per_frame=\(perFrame)"
      )
    case .failure(let error):
      Console.print("netfloor: the \(name) did not start: \(error.message)")
    }
    let running = loan.giveBack()
    if loan.drivers.isEmpty {
      Console.print("netfloor: device released (no driver domain)")
    } else {
      Console.print(
        "netfloor: device given back to \(loan.driverNames) (\(running ? "running" : "not running"))"
      )
    }
    return line
  }

  /// Polls until the time is up or a console line arrives (returned).
  private static func serve<NIC: FloorNIC>(
    _ nic: NIC, seconds: UInt64?, _ counts: inout Counts
  ) -> String? {
    let deadline = seconds.map { Clock.nanoseconds + $0 * 1_000_000_000 }
    var lastPause = Clock.nanoseconds
    var typed: [UInt8] = []
    let mac = nic.mac
    while true {
      let start = CPU.timestamp
      let seen = nic.poll { frame, length in answer(frame, length, mac: mac, &counts) }
      if seen > 0 {
        counts.workTicks &+= CPU.timestamp &- start
        counts.frames &+= UInt64(seen)
      }
      while let byte = Serial.read() {
        if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
          return String(decoding: typed, as: UTF8.self)
        }
        typed.append(byte)
      }
      let now = Clock.nanoseconds
      if let deadline, now >= deadline { return nil }
      if now - lastPause >= pauseEveryNanoseconds {
        Scheduler.sleep(nanoseconds: 1)
        lastPause = Clock.nanoseconds
      }
    }
  }

  /// What to send back from a received frame's buffer: its length, or 0 to drop it.
  static func answer(_ frame: FloorWindow, _ length: Int, mac: MACAddress, _ counts: inout Counts)
    -> Int
  {
    let bytes = frame.bytes
    func byte(_ offset: Int) -> UInt8 { bytes.load(fromByteOffset: offset, as: UInt8.self) }
    func word(_ offset: Int) -> UInt16 { UInt16(byte(offset)) << 8 | UInt16(byte(offset + 1)) }
    func long(_ offset: Int) -> UInt32 { UInt32(word(offset)) << 16 | UInt32(word(offset + 2)) }
    func swap(_ first: Int, _ second: Int, _ count: Int) {
      for index in 0..<count {
        let saved = byte(first + index)
        bytes.storeBytes(of: byte(second + index), toByteOffset: first + index, as: UInt8.self)
        bytes.storeBytes(of: saved, toByteOffset: second + index, as: UInt8.self)
      }
    }
    func move(_ from: Int, _ to: Int, _ count: Int) {
      for index in 0..<count {
        bytes.storeBytes(of: byte(from + index), toByteOffset: to + index, as: UInt8.self)
      }
    }
    func storeMAC(_ to: Int) {
      for index in 0..<6 {
        bytes.storeBytes(of: mac.byte(index), toByteOffset: to + index, as: UInt8.self)
      }
    }
    guard length >= 42 && length <= 1514 else {
      counts.dropped += 1
      return 0
    }
    switch word(12) {
    case 0x0800:
      let headerLength = Int(byte(14) & 0x0F) * 4
      let total = Int(word(16))
      let udp = 14 + headerLength
      guard byte(14) >> 4 == 4, headerLength >= 20, total >= headerLength + 8,
        14 + total <= length, word(20) & 0x3FFF == 0, byte(23) == 17, long(30) == address,
        word(udp + 2) == echoPort
      else { break }
      swap(0, 6, 6)
      swap(26, 30, 4)
      swap(udp, udp + 2, 2)
      counts.echoed += 1
      return 14 + total
    case 0x0806:
      guard word(14) == 1, word(16) == 0x0800, byte(18) == 6, byte(19) == 4, word(20) == 1,
        long(38) == address
      else { break }
      move(22, 0, 6)  // to the asker
      move(22, 32, 10)  // its hardware and protocol addresses become the target's
      storeMAC(6)
      storeMAC(22)
      for index in 0..<4 {
        bytes.storeBytes(
          of: UInt8(truncatingIfNeeded: address >> (24 - 8 * UInt32(index))),
          toByteOffset: 28 + index, as: UInt8.self)
      }
      bytes.storeBytes(of: UInt8(2), toByteOffset: 21, as: UInt8.self)  // a reply
      counts.arp += 1
      return 42
    default:
      break
    }
    counts.dropped += 1
    return 0
  }
}

/// What the echo loop needs of a NIC.
protocol FloorNIC: AnyObject {
  var mac: MACAddress { get }
  /// Takes every frame received, asks `answer` (the frame, its length) how many bytes of
  /// it to send back (0: none), sends those, and gives the buffers back to the device;
  /// returns how many frames it took.
  func poll(_ answer: (FloorWindow, Int) -> Int) -> Int
  /// Stops the device's DMA and frees the memory it used.
  func stop()
}
