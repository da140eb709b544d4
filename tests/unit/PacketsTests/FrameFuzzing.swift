/// What the fuzzer does with one input, and what the corpus replay does with each file:
/// whole Ethernet frames through the stack core's input path, with its timers and its
/// output builders, checking after each step what must always hold. Shared by the
/// libFuzzer target (tests/fuzz, `make fuzz`) and the unit tests (`CorpusReplayTests`),
/// so every input kept in tests/fuzz/corpus runs in `make test` exactly as it ran in
/// the fuzzer. Nothing here may import Testing: the fuzzer builds it without.
///
/// An input is one control byte, then frames, each as a big-endian 16-bit length and
/// that many bytes (the last frame takes what is left). The control byte says:
/// - bit 0: the stack asks DHCP for its address (else it has 10.0.2.15/24 gw 10.0.2.2);
/// - bits 1-3: how far the clock moves between frames (0 to an hour), so that ARP
///   entries, resolutions and DHCP leases expire;
/// - bit 4: fix up the IPv4, ICMP and UDP checksums first, so that the fuzzer gets past
///   them to what lies behind.
import Packets

enum FrameFuzzing {
  static let steps: [UInt64] = [
    0, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000, 61_000_000_000,
    3_600_000_000_000,
  ]
  static let mac = MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56)
  static let fixed = InterfaceAddress(
    address: IPv4Address(10, 0, 2, 15), prefixLength: 24, gateway: IPv4Address(10, 0, 2, 2))

  /// Runs one input; traps (a failed precondition) if the stack breaks a rule. Returns
  /// the stack as the input left it (nil for an empty input).
  @discardableResult
  static func run(_ data: [UInt8]) -> NetworkStack? {
    guard let control = data.first else { return nil }
    let mode: AddressingMode = control & 1 != 0 ? .dhcp : .fixed(fixed)
    let step = steps[Int(control >> 1) & 7]
    let fixChecksums = control & 0x10 != 0
    var now: UInt64 = 1_000_000_000
    let stack = NetworkStack(mode: mode, seed: 0x0123_4567_89AB_CDEF)
    stack.start(mac: mac, now: now)
    _ = stack.openSocket(port: 7)
    _ = stack.openSocket(port: 68)
    var buffer = [UInt8](repeating: 0, count: 2048)
    var inputs: UInt64 = 0
    var index = 1
    while index < data.count {
      var length = data.count - index
      if length >= 2 {
        length = min(Int(data[index]) << 8 | Int(data[index + 1]), data.count - index - 2)
        index += 2
      }
      // Exactly the frame's bytes (padded to Ethernet's 60, room a reply may take), so
      // that reading past its end traps here even where a driver's 2 KiB buffer would
      // hide it.
      var frame = Array(data[index..<(index + length)])
      if frame.count < 60 { frame += [UInt8](repeating: 0, count: 60 - frame.count) }
      index += length
      if fixChecksums { fixUp(&frame, length: length) }
      now &+= step
      let before = stack.counters
      let action = input(stack, &frame, length: length, now: now)
      inputs += 1
      check(action, stack: stack, before: before, inputs: inputs, buffer: frame)
      if case .deliver(let delivery) = action {
        for offset in frame.indices { buffer[offset] = frame[offset] }
        echo(delivery, stack: stack, buffer: &buffer, now: now)
      }
      pollAll(stack, &buffer, now: now)
    }
    return stack
  }

  private static func input(
    _ stack: NetworkStack, _ bytes: inout [UInt8], length: Int, now: UInt64
  ) -> InputAction {
    var frame = bytes.mutableSpan
    return stack.input(&frame, length: length, now: now)
  }

  private static func check(
    _ action: InputAction, stack: NetworkStack, before: StackCounters, inputs: UInt64,
    buffer: [UInt8]
  ) {
    let after = stack.counters
    precondition(after.receivedFrames == inputs, "every frame is counted")
    switch action {
    case .drop(let reason):
      precondition(after[reason] == before[reason] + 1, "a drop is counted under its reason")
      precondition(after.totalDrops == before.totalDrops + 1, "and only there")
    case .reply(let length):
      precondition(after.totalDrops == before.totalDrops)
      precondition(length >= 60 && length <= 1514, "a reply is a whole frame")
      precondition(Array(buffer[6..<12]) == [0x52, 0x54, 0x00, 0x12, 0x34, 0x56], "from us")
      if buffer[12] == 0x08 && buffer[13] == 0x00 {
        precondition(sum(buffer, 14, 20) == 0xFFFF, "with a good IP checksum")
        let total = Int(buffer[16]) << 8 | Int(buffer[17])
        precondition(total >= 28 && 14 + total <= length, "and a total length inside the frame")
        precondition(sum(buffer, 34, total - 20) == 0xFFFF, "and a good ICMP checksum")
      } else {
        precondition(buffer[12] == 0x08 && buffer[13] == 0x06, "an ARP reply otherwise")
      }
    case .deliver(let delivery):
      precondition(after.totalDrops == before.totalDrops)
      precondition(delivery.payloadLength >= 0)
      precondition(NetworkStack.udpPayloadOffset + delivery.payloadLength <= 1514)
      precondition(stack.port(of: delivery.socket) == delivery.localPort)
    case .consumed:
      precondition(after.totalDrops == before.totalDrops)
    }
  }

  /// Sends a delivered datagram back, as the echo server does.
  private static func echo(
    _ delivery: Delivery, stack: NetworkStack, buffer: inout [UInt8], now: UInt64
  ) {
    var frame = buffer.mutableSpan
    let outcome = stack.writeDatagram(
      &frame, from: delivery.localPort, to: delivery.remote, payloadLength: delivery.payloadLength,
      now: now)
    if case .send(let length) = outcome {
      precondition(length >= 60 && length <= 1514)
    }
  }

  private static func pollAll(_ stack: NetworkStack, _ buffer: inout [UInt8], now: UInt64) {
    for _ in 0..<16 {
      var frame = buffer.mutableSpan
      guard let length = stack.poll(&frame, now: now) else { return }
      precondition(length >= 42 && length <= 1514, "a timer's frame is a whole frame")
    }
    preconditionFailure("the timers never run out of frames to send")
  }

  /// The ones'-complement sum of `count` bytes from `offset`, folded (0xFFFF: valid).
  private static func sum(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt16 {
    var checksum = InternetChecksum()
    checksum.add(bytes.span, from: offset, count: count)
    return ~checksum.value
  }

  /// Makes the IPv4 header checksum, and the ICMP or UDP one, right, where the frame
  /// has room for them; touches nothing else.
  private static func fixUp(_ buffer: inout [UInt8], length: Int) {
    guard length >= 34, buffer[12] == 0x08, buffer[13] == 0x00 else { return }
    let headerLength = Int(buffer[14] & 0x0F) * 4
    guard headerLength >= 20, 14 + headerLength <= length else { return }
    store(0, in: &buffer, at: 24)
    store(~sum(buffer, 14, headerLength), in: &buffer, at: 24)
    let total = Int(buffer[16]) << 8 | Int(buffer[17])
    let start = 14 + headerLength
    guard total >= headerLength, 14 + total <= length else { return }
    let payload = total - headerLength
    switch buffer[23] {
    case 1 where payload >= 8:
      store(0, in: &buffer, at: start + 2)
      store(~sum(buffer, start, payload), in: &buffer, at: start + 2)
    case 17 where payload >= 8:
      guard Int(buffer[start + 4]) << 8 | Int(buffer[start + 5]) == payload,
        buffer[start + 6] != 0 || buffer[start + 7] != 0
      else { return }
      store(0, in: &buffer, at: start + 6)
      var checksum = InternetChecksum()
      checksum.add(buffer.span, from: 26, count: 8)
      checksum.add(UInt16(17))
      checksum.add(UInt16(payload))
      checksum.add(buffer.span, from: start, count: payload)
      let value = checksum.value
      store(value == 0 ? 0xFFFF : value, in: &buffer, at: start + 6)
    default:
      return
    }
  }

  private static func store(_ value: UInt16, in buffer: inout [UInt8], at offset: Int) {
    buffer[offset] = UInt8(value >> 8)
    buffer[offset + 1] = UInt8(value & 0xFF)
  }
}
