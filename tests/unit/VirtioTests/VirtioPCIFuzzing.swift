/// What the virtio-pci fuzz target does with one input, and what the unit tests do with
/// each kept input: a device's PCI configuration space from the input, its virtio
/// capabilities found and mapped onto its BAR as every virtio driver domain does it
/// (`VirtioPCITransport(reading:bar:)`), then, if that works, a block driver brought up
/// on the transport against the simulated block device and one block read. The device's
/// registers are where QEMU puts them, wherever the capabilities say they are, so most
/// inputs bring up a driver that talks to the wrong registers: it must fail cleanly, never
/// trap, hang or point the device outside its memory. Shared by the libFuzzer target
/// (tests/fuzz, `make fuzz`) and `VirtioPCIFuzzReplayTests`; nothing here may import
/// Testing.
///
/// An input is the index of the BAR the device's registers answer at (a byte: 0-7, where
/// 6 and 7 name none), then the 256 bytes of configuration space.
import FuzzSupport
import Registers
import Virtio

enum VirtioPCIFuzzing {
  /// How far an input got.
  enum Outcome: Equatable {
    case transportRefused(VirtioError)
    case driverRefused(VirtioBlockError)
    /// The read completed; whether it succeeded and its block arrived.
    case read(succeeded: Bool)
    /// The read never completed, or the driver stopped.
    case noCompletion
  }

  /// Runs one input; traps if the transport or the driver breaks a rule.
  @discardableResult
  static func run(_ data: [UInt8]) -> Outcome {
    var input = FuzzInput(data)
    let barIndex = input.below(8)
    var space = ConfigurationSpace()
    let bytes = input.bytes(256)
    space.bytes = bytes + [UInt8](repeating: 0, count: 256 - bytes.count)
    let device = SimulatedBlockDevice(sectors: 16, configurationSpace: space)
    let transport: VirtioPCITransport<BarWindow>
    do {
      transport = try VirtioPCITransport(reading: space) { $0 == barIndex ? device.bar : nil }
    } catch {
      precondition(!error.message.isEmpty)
      return .transportRefused(error)
    }
    let queueMemory = ArrayDMAMemory(
      byteCount: Driver.memoryByteCount(queueSize: 8), deviceAddress: queueMemoryAddress)
    let buffer = ArrayDMAMemory(byteCount: 4096, deviceAddress: bufferAddress)
    device.memory.add(queueMemory)
    device.memory.add(buffer)
    let driver: Driver
    do {
      driver = try Driver(transport: transport, memory: queueMemory, maximumQueueSize: 8)
    } catch {
      precondition(!error.message.isEmpty && device.memory.faults.isEmpty)
      return .driverRefused(error)
    }
    let outcome = read(driver, into: buffer, from: device)
    precondition(device.memory.faults.isEmpty, "the device was pointed outside the memory")
    return outcome
  }

  /// Reads block 1 (of 2) and checks that a read that succeeds holds it.
  private static func read(
    _ driver: Driver, into buffer: ArrayDMAMemory, from device: SimulatedBlockDevice
  ) -> Outcome {
    do throws(VirtioBlockError) {
      let ticket = try driver.submit(.read(block: 1, into: buffer.dmaRegion(at: 0, count: 4096)))
      driver.kick()
      device.process()
      guard try driver.poll() == ticket, let completion = driver.collect(ticket) else {
        return .noCompletion
      }
      let succeeded = completion.error == nil
      precondition(!succeeded || buffer.bytes == device.block(1), "a read holds its block")
      return .read(succeeded: succeeded)
    } catch {
      precondition(!error.message.isEmpty)
      return .noCompletion
    }
  }
}
