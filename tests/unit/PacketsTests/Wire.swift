/// Frames built byte by byte, independently of the Packets module's own writers, so
/// that a test of a parser does not lean on the builder it is the inverse of.
import Packets

enum Wire {
  static let ourMAC: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
  static let gatewayMAC: [UInt8] = [0x52, 0x55, 0x0A, 0x00, 0x02, 0x02]
  static let broadcastMAC: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
  static let ourAddress: [UInt8] = [10, 0, 2, 15]
  static let gatewayAddress: [UInt8] = [10, 0, 2, 2]
  static let dnsAddress: [UInt8] = [10, 0, 2, 3]

  static func bytes16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
  static func bytes32(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
  }

  /// RFC 1071, the plain way: sum 16-bit words in 32 bits, fold, complement.
  static func checksum(_ data: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var index = 0
    while index < data.count {
      let high = UInt32(data[index]) << 8
      let low = index + 1 < data.count ? UInt32(data[index + 1]) : 0
      sum += high | low
      index += 2
    }
    while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
    return ~UInt16(sum)
  }

  static func word(_ data: [UInt8], _ offset: Int) -> UInt16 {
    UInt16(data[offset]) << 8 | UInt16(data[offset + 1])
  }

  static func ethernet(
    to destination: [UInt8] = ourMAC, from source: [UInt8] = gatewayMAC, type: UInt16,
    _ payload: [UInt8]
  ) -> [UInt8] {
    destination + source + bytes16(type) + payload
  }

  static func arp(
    operation: UInt16, senderMAC: [UInt8] = gatewayMAC, senderAddress: [UInt8] = gatewayAddress,
    targetMAC: [UInt8] = [0, 0, 0, 0, 0, 0], targetAddress: [UInt8] = ourAddress,
    hardwareLength: UInt8 = 6, protocolLength: UInt8 = 4
  ) -> [UInt8] {
    bytes16(1) + bytes16(0x0800) + [hardwareLength, protocolLength] + bytes16(operation)
      + senderMAC + senderAddress + targetMAC + targetAddress
  }

  /// An IPv4 packet; `options` must be a multiple of 4 bytes. Fields may be forced wrong.
  static func ipv4(
    from source: [UInt8] = gatewayAddress, to destination: [UInt8] = ourAddress,
    protocolNumber: UInt8, ttl: UInt8 = 64, flags: UInt16 = 0x4000, options: [UInt8] = [],
    version: UInt8 = 4, headerWords: UInt8? = nil, totalLength: UInt16? = nil,
    corruptChecksum: Bool = false, _ payload: [UInt8]
  ) -> [UInt8] {
    let words = headerWords ?? UInt8(5 + options.count / 4)
    let total = totalLength ?? UInt16(20 + options.count + payload.count)
    var header =
      [version << 4 | words, 0] + bytes16(total) + bytes16(0x1234) + bytes16(flags)
      + [ttl, protocolNumber, 0, 0] + source + destination + options
    let sum = checksum(header)
    header[10] = UInt8(sum >> 8)
    header[11] = UInt8(sum & 0xFF) ^ (corruptChecksum ? 0x01 : 0)
    return header + payload
  }

  static func udp(
    from source: [UInt8] = gatewayAddress, to destination: [UInt8] = ourAddress,
    sourcePort: UInt16, destinationPort: UInt16, withChecksum: Bool = true,
    lengthField: UInt16? = nil, corruptChecksum: Bool = false, _ payload: [UInt8]
  ) -> [UInt8] {
    let length = UInt16(8 + payload.count)
    var datagram =
      bytes16(sourcePort) + bytes16(destinationPort) + bytes16(lengthField ?? length) + [0, 0]
      + payload
    if withChecksum {
      let pseudo = source + destination + [0, 17] + bytes16(length)
      var sum = checksum(pseudo + datagram)
      if sum == 0 { sum = 0xFFFF }
      if corruptChecksum { sum ^= 0x0100 }
      datagram[6] = UInt8(sum >> 8)
      datagram[7] = UInt8(sum & 0xFF)
    }
    return datagram
  }

  static func icmpEcho(type: UInt8, identifier: UInt16, sequence: UInt16, data: [UInt8])
    -> [UInt8]
  {
    var message = [type, 0, 0, 0] + bytes16(identifier) + bytes16(sequence) + data
    let sum = checksum(message)
    message[2] = UInt8(sum >> 8)
    message[3] = UInt8(sum & 0xFF)
    return message
  }

  /// A UDP datagram in a whole frame, from the gateway to us.
  static func udpFrame(
    sourcePort: UInt16 = 5555, destinationPort: UInt16 = 7, _ payload: [UInt8]
  ) -> [UInt8] {
    ethernet(
      type: 0x0800,
      ipv4(
        protocolNumber: 17,
        udp(sourcePort: sourcePort, destinationPort: destinationPort, payload)))
  }

  /// Pads a frame with zeros to Ethernet's 60 bytes, as the e1000 delivers short ones.
  static func padded(_ frame: [UInt8]) -> [UInt8] {
    frame + [UInt8](repeating: 0, count: max(0, 60 - frame.count))
  }
}

/// A network stack with a 2 KiB frame buffer, as the stack domain gives it.
final class StackBed {
  let stack: NetworkStack
  var buffer = [UInt8](repeating: 0, count: 2048)
  var now: UInt64 = 1_000_000_000

  static let fixed = InterfaceAddress(
    address: IPv4Address(10, 0, 2, 15), prefixLength: 24, gateway: IPv4Address(10, 0, 2, 2))
  static let mac = MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56)
  static let gatewayMAC = MACAddress(0x52, 0x55, 0x0A, 0x00, 0x02, 0x02)

  init(mode: AddressingMode = .fixed(StackBed.fixed), seed: UInt64 = 0x1234_5678_9ABC_DEF0) {
    stack = NetworkStack(mode: mode, seed: seed)
    stack.start(mac: Self.mac, now: now)
  }

  /// Puts `frame` in the buffer and hands it to the stack.
  @discardableResult
  func input(_ frame: [UInt8], length: Int? = nil) -> InputAction {
    for index in buffer.indices { buffer[index] = index < frame.count ? frame[index] : 0xEE }
    return withFrame { stack.input(&$0, length: length ?? frame.count, now: now) }
  }

  /// Runs `body` on the buffer as the span the stack takes.
  func withFrame<R>(_ body: (inout MutableSpan<UInt8>) -> R) -> R {
    var bytes = buffer
    let result = Self.run(&bytes, body)
    buffer = bytes
    return result
  }

  private static func run<R>(_ bytes: inout [UInt8], _ body: (inout MutableSpan<UInt8>) -> R)
    -> R
  {
    var span = bytes.mutableSpan
    return body(&span)
  }

  func poll() -> [UInt8]? {
    guard let length = withFrame({ stack.poll(&$0, now: now) }) else { return nil }
    return Array(buffer[0..<length])
  }

  /// Every frame `poll` has due now.
  func pollAll() -> [[UInt8]] {
    var frames: [[UInt8]] = []
    while let frame = poll() { frames.append(frame) }
    return frames
  }

  /// Puts `payload` at the UDP payload offset and asks the stack to send it.
  func send(_ payload: [UInt8], from port: UInt16 = 7, to remote: IPv4Endpoint) -> Transmission {
    for (index, byte) in payload.enumerated() {
      buffer[NetworkStack.udpPayloadOffset + index] = byte
    }
    return withFrame {
      stack.writeDatagram(&$0, from: port, to: remote, payloadLength: payload.count, now: now)
    }
  }

  func frame(_ length: Int) -> [UInt8] { Array(buffer[0..<length]) }

  /// Teaches the stack the gateway's MAC address, as its ARP reply would.
  func learnGateway() {
    _ = input(
      Wire.ethernet(
        type: 0x0806, Wire.arp(operation: 2, targetMAC: Wire.ourMAC)))
  }

  func advance(seconds: Double) { now += UInt64(seconds * 1e9) }
}
