/// Tests of how the virtio-blk driver's set-up fails: each failure an error value, the
/// device marked FAILED, and reset if it was told where the queue is (the caller frees
/// that memory).
import Registers
import Testing
import Virtio

struct BlockSetUpTests {
  @Test func aLegacyOnlyDeviceIsRefused() throws {
    let device = SimulatedBlockDevice()
    device.offered.remove(.version1)
    #expect(throws: VirtioBlockError.transport(.legacyOnlyDevice)) { try BlockTestBed(device) }
    #expect(device.status[.failed])
  }

  @Test func aQueueTooSmallForARequestIsRefused() throws {
    let device = SimulatedBlockDevice()
    device.queueMaximum = 2
    #expect(throws: VirtioBlockError.queueTooSmall(2)) { try BlockTestBed(device) }
    // The queue was set up in memory the caller frees: the device is left reset.
    #expect(device.wasAbandoned)
  }

  @Test func memoryTooSmallIsRefusedBeforeTouchingTheDevice() throws {
    let device = SimulatedBlockDevice()
    let needed = Driver.memoryByteCount(queueSize: 64)
    #expect(
      throws: VirtioBlockError.transport(
        .queueMemoryUnusable(needed: needed, available: needed - 1))
    ) {
      try Driver(
        transport: makeTransport(device),
        memory: ArrayDMAMemory(byteCount: needed - 1, deviceAddress: 0),
        maximumQueueSize: 64)
    }
    #expect(device.statusHistory.isEmpty)
  }

  @Test func aMissingDeviceConfigurationIsRefused() throws {
    let device = SimulatedBlockDevice(configurationSpace: .qemuLike(deviceConfiguration: false))
    #expect(throws: VirtioBlockError.transport(.windowTooSmall(.deviceConfiguration))) {
      try BlockTestBed(device)
    }
    #expect(device.status[.failed])
  }

  @Test func vectorsAreSetAndARefusedOneFailsSetUp() throws {
    let device = SimulatedBlockDevice()
    let queueMemory = ArrayDMAMemory(
      byteCount: Driver.memoryByteCount(queueSize: 128), deviceAddress: 0)
    let driver = try Driver(
      transport: makeTransport(device), memory: queueMemory, queueVector: 1,
      configurationVector: 0)
    #expect(driver.transport.common.configurationVector.read() == 0)
    #expect(driver.transport.common.queueVector.read() == 1)
    device.refusesVectors = true
    #expect(throws: VirtioBlockError.transport(.vectorRejected(0))) {
      try Driver(
        transport: makeTransport(device), memory: queueMemory, configurationVector: 0)
    }
    #expect(device.wasAbandoned)
    device.refusesVectors = false
    device.refusesQueueVectors = true
    #expect(throws: VirtioBlockError.transport(.vectorRejected(1))) {
      try Driver(transport: makeTransport(device), memory: queueMemory, queueVector: 1)
    }
    // Told where the queue is before it refused the vector: left reset, holding nothing.
    #expect(device.queueAddressesWritten && device.wasAbandoned)
  }

  @Test func theMemoryLayoutKeepsHeadersAlignedAfterTheRings() {
    let layout = VirtioBlockMemoryLayout(queueSize: 128)
    #expect(layout.queue.size == 128)
    #expect(layout.headers % 16 == 0 && layout.headers >= layout.queue.byteCount)
    #expect(layout.statuses == layout.headers + 16 * 128)
    #expect(layout.byteCount == layout.statuses + 128)
    #expect(
      Driver.memoryByteCount(queueSize: 100) == VirtioBlockMemoryLayout(queueSize: 64).byteCount)
  }
}
