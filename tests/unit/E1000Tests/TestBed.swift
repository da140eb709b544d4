/// Wiring for the tests: a driver on a simulated 82540EM, with ring memory and receive
/// and transmit buffers the device can reach by address.
import E1000
import Registers
import Testing

typealias Driver = E1000Device<SimulatedE1000, ArrayDMAMemory>
typealias Offset = SimulatedE1000.Offset

struct E1000TestBed {
  static let bufferBytes = 2048

  let device: SimulatedE1000
  let driver: Driver
  let rings: ArrayDMAMemory
  /// `bufferCount` buffers of 2048 bytes, one after the other.
  let buffers: ArrayDMAMemory

  /// A driver set up on `device`, with rings of the sizes given at `ringAddress`.
  init(
    _ device: SimulatedE1000 = SimulatedE1000(), receiveRing: Int = 64, transmitRing: Int = 64,
    bufferCount: Int = 128, ringAddress: UInt64 = 0x1000_0000,
    bufferAddress: UInt64 = 0x2000_0000
  ) throws {
    self.device = device
    let layout = try #require(
      E1000MemoryLayout(receiveRingSize: receiveRing, transmitRingSize: transmitRing))
    rings = ArrayDMAMemory(byteCount: layout.byteCount, deviceAddress: ringAddress)
    buffers = ArrayDMAMemory(
      byteCount: bufferCount * Self.bufferBytes, deviceAddress: bufferAddress)
    device.memory.attach(rings)
    device.memory.attach(buffers)
    driver = try Driver(
      registers: try #require(E1000Registers(fitting: device)), memory: rings, layout: layout)
  }

  /// Where the device finds buffer `index`.
  func buffer(_ index: Int) -> DMARegion {
    buffers.dmaRegion(at: index * Self.bufferBytes, count: Self.bufferBytes)
  }

  /// The first `count` bytes of buffer `index`.
  func bytes(_ index: Int, count: Int) -> [UInt8] {
    Array(buffers.bytes[index * Self.bufferBytes..<index * Self.bufferBytes + count])
  }

  /// Puts a frame in buffer `index`; returns the region of its bytes, for sending.
  func frame(_ bytes: [UInt8], in index: Int) -> DMARegion {
    buffers.write(bytes, at: index * Self.bufferBytes)
    return buffers.dmaRegion(at: index * Self.bufferBytes, count: bytes.count)
  }

  /// Posts buffers `indices` for receive and shows them to the device.
  func post(_ indices: Range<Int>) {
    for index in indices { #expect(driver.postReceive(buffer(index))) }
    driver.publishReceive()
  }

  /// Every outcome the driver can take back now.
  func received() -> [ReceiveOutcome] {
    var outcomes: [ReceiveOutcome] = []
    while let outcome = driver.takeReceived() { outcomes.append(outcome) }
    return outcomes
  }

  func transmitted() -> [TransmitOutcome] {
    var outcomes: [TransmitOutcome] = []
    while let outcome = driver.takeTransmitted() { outcomes.append(outcome) }
    return outcomes
  }
}
