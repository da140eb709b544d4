/// Wiring for the tests and the virtio fuzz targets: the driver's windows made from the
/// simulated device's BAR, as a driver domain makes them from its real one, and DMA
/// memory the device can find. No Testing here: the fuzz targets are built without it.
import Registers
import Virtio

typealias BarWindow = WindowSlice<ObservedWindow>
typealias Driver = VirtioBlockDevice<BarWindow, ArrayDMAMemory>

/// Device addresses of the driver's queue memory and of the data buffers.
let queueMemoryAddress: UInt64 = 0x4000_0000
let bufferAddress: UInt64 = 0x8000_0000

/// The transport over `device`, from its capability list, as a driver domain makes it.
func makeTransport(_ device: SimulatedVirtioDevice) throws -> VirtioPCITransport<BarWindow> {
  try VirtioPCITransport(reading: device.configurationSpace) { index in
    index == 4 ? device.bar : nil
  }
}

/// A driver on a simulated device, with DMA memory for its queue and `buffers` 4 KiB
/// buffers the device can reach.
struct BlockTestBed {
  let device: SimulatedBlockDevice
  let driver: Driver
  let queueMemory: ArrayDMAMemory
  let buffers: ArrayDMAMemory

  init(
    _ device: SimulatedBlockDevice = SimulatedBlockDevice(), maximumQueueSize: Int = 128,
    buffers count: Int = 64
  ) throws {
    self.device = device
    queueMemory = ArrayDMAMemory(
      byteCount: Driver.memoryByteCount(queueSize: maximumQueueSize),
      deviceAddress: queueMemoryAddress)
    buffers = ArrayDMAMemory(byteCount: count * 4096, deviceAddress: bufferAddress)
    device.memory.add(queueMemory)
    device.memory.add(buffers)
    driver = try Driver(
      transport: makeTransport(device), memory: queueMemory, maximumQueueSize: maximumQueueSize)
  }

  /// Where the device finds buffer `index`.
  func region(_ index: Int) -> DMARegion { buffers.dmaRegion(at: index * 4096, count: 4096) }

  /// The bytes of buffer `index`.
  func buffer(_ index: Int) -> [UInt8] { Array(buffers.bytes[index * 4096..<(index + 1) * 4096]) }

  func fill(_ index: Int, with seed: UInt8) {
    let pattern = (0..<4096).map { seed &+ UInt8(truncatingIfNeeded: $0 * 13) }
    buffers.write(pattern, at: index * 4096)
  }

  /// Whether the device was reset after the driver started it, and holds no queue.
  var deviceWasReset: Bool {
    device.statusHistory.drop(while: { $0 & 4 == 0 }).contains(0) && device.status.raw == 0
  }
}
