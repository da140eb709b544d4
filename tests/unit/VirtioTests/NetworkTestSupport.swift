/// A virtio-net driver on a simulated device, with packet buffers laid out as the
/// domain's are: 16 bytes of room for the device's header, then 2048 bytes of frame, and
/// the driver handing the device the last 12 bytes of the first and all of the second
/// as one run.
import Registers
import Virtio

typealias NetworkDriver = VirtioNetworkDevice<BarWindow, ArrayDMAMemory>

let packetMemoryAddress: UInt64 = 0x9000_0000

struct NetworkTestBed {
  /// Bytes between packet buffers (the domain's PacketBuffer is about this long).
  static let stride = 2112
  static let headerRoom = 16
  static let frameBytes = 2048

  let device: SimulatedNetworkDevice
  let driver: NetworkDriver
  let transport: VirtioPCITransport<BarWindow>
  let queueMemory: ArrayDMAMemory
  let packets: ArrayDMAMemory

  init(
    _ device: SimulatedNetworkDevice = SimulatedNetworkDevice(), maximumQueueSize: Int = 16,
    buffers count: Int = 64, queueVector: UInt16 = VirtioCommonConfiguration<BarWindow>.noVector
  ) throws {
    self.device = device
    queueMemory = ArrayDMAMemory(
      byteCount: NetworkDriver.memoryByteCount(queueSize: maximumQueueSize),
      deviceAddress: queueMemoryAddress)
    packets = ArrayDMAMemory(byteCount: count * Self.stride, deviceAddress: packetMemoryAddress)
    device.memory.add(queueMemory)
    device.memory.add(packets)
    transport = try makeTransport(device)
    driver = try NetworkDriver(
      transport: transport, memory: queueMemory, maximumQueueSize: maximumQueueSize,
      queueVector: queueVector)
  }

  /// What the device is given for packet buffer `index` holding a frame of `length`
  /// bytes (a receive buffer: all 2048).
  func region(_ index: Int, frameLength: Int = frameBytes) -> DMARegion {
    packets.dmaRegion(at: index * Self.stride + 4, count: 12 + frameLength)
  }

  /// The first `length` bytes of packet buffer `index`'s frame.
  func frame(_ index: Int, length: Int) -> [UInt8] {
    let start = index * Self.stride + Self.headerRoom
    return Array(packets.bytes[start..<start + length])
  }

  /// Puts `frame` in packet buffer `index`, with a zero header in front.
  func write(_ frame: [UInt8], into index: Int) {
    packets.write([UInt8](repeating: 0, count: 12) + frame, at: index * Self.stride + 4)
  }

  /// Posts packet buffers `indices` for receive and publishes them; returns their ids.
  @discardableResult
  func post(_ indices: some Sequence<Int>) throws -> [UInt16: Int] {
    var byID: [UInt16: Int] = [:]
    for index in indices { byID[try driver.postReceive(region(index))] = index }
    driver.publishReceive()
    return byID
  }

  /// Every buffer the device has given back on the receive queue.
  func received() throws -> [ReceivedBuffer] {
    var all: [ReceivedBuffer] = []
    while let buffer = try driver.takeReceived() { all.append(buffer) }
    return all
  }

  /// Every frame the device has finished sending.
  func transmitted() throws -> [UInt16] {
    var all: [UInt16] = []
    while let id = try driver.takeTransmitted() { all.append(id) }
    return all
  }

  /// Whether the device was reset after the driver started it, and holds no queue.
  var deviceWasReset: Bool {
    device.statusHistory.drop(while: { $0 & 4 == 0 }).contains(0) && device.status.raw == 0
  }
}

/// A frame of `length` bytes whose bytes say `seed` and their position.
func testFrame(length: Int, seed: UInt8) -> [UInt8] {
  (0..<length).map { seed &+ UInt8(truncatingIfNeeded: $0 &* 7) }
}
