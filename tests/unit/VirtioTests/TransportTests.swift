/// Tests of the PCI transport against the simulated device: the status handshake,
/// feature negotiation and its failures, queue setup and notification, interrupts and
/// consistent configuration reads.
import Registers
import Testing
import Virtio

/// Status bytes in the order a correct handshake writes them.
private let acknowledge: UInt8 = 1
private let driver: UInt8 = 2
private let featuresOK: UInt8 = 8
private let driverOK: UInt8 = 4
private let failed: UInt8 = 128

struct TransportTests {
  @Test func initializationWalksTheStatusSteps() throws {
    let device = SimulatedBlockDevice()
    let transport = try makeTransport(device)
    let features = try transport.initialize(
      required: [.blockFlush], optional: [.blockSize, .eventIndex])
    #expect(features == [.version1, .blockFlush, .blockSize])
    #expect(device.acceptedFeatures == features)
    transport.start()
    let steps = acknowledge | driver | featuresOK | driverOK
    #expect(
      device.statusHistory == [
        0, acknowledge, acknowledge | driver, acknowledge | driver | featuresOK, steps,
      ])
    #expect(transport.status.raw == steps)
  }

  @Test func aDeviceWithoutVersion1IsRefusedAsLegacy() throws {
    let device = SimulatedBlockDevice()
    device.offered = [.blockFlush]
    let transport = try makeTransport(device)
    #expect(throws: VirtioError.legacyOnlyDevice) {
      try transport.initialize(required: [], optional: [.blockFlush])
    }
    #expect(transport.status[.failed])
    #expect(device.acceptedFeatures == nil)
    #expect(VirtioError.legacyOnlyDevice.message.contains("VIRTIO_F_VERSION_1"))
  }

  @Test func missingRequiredFeaturesAreNamed() throws {
    let device = SimulatedBlockDevice()
    let transport = try makeTransport(device)
    #expect(throws: VirtioError.missingFeatures([.blockReadOnly, .inOrder])) {
      try transport.initialize(required: [.blockReadOnly, .blockFlush, .inOrder], optional: [])
    }
    #expect(transport.status[.failed])
  }

  @Test func aDeviceThatClearsFeaturesOKFailsNegotiation() throws {
    let device = SimulatedBlockDevice()
    device.refusesFeatures = true
    let transport = try makeTransport(device)
    #expect(throws: VirtioError.featuresNotAccepted) {
      try transport.initialize(required: [], optional: [.blockFlush])
    }
    #expect(device.statusHistory.last == acknowledge | driver | failed)
  }

  @Test func aDeviceThatNeverFinishesItsResetTimesOut() throws {
    let device = SimulatedBlockDevice()
    device.neverFinishesReset = true
    let transport = try makeTransport(device)
    #expect(throws: VirtioError.resetTimedOut) {
      try transport.initialize(required: [], optional: [])
    }
  }

  @Test func negotiationStartsAfreshAfterAReset() throws {
    let device = SimulatedBlockDevice()
    let transport = try makeTransport(device)
    _ = try transport.initialize(required: [], optional: [.blockFlush])
    transport.start()
    let again = try transport.initialize(required: [], optional: [])
    #expect(again == .version1)
    #expect(!transport.status[.driverOK])
  }

  @Test func queueSetUpWritesTheRingAddressesAndEnablesIt() throws {
    let device = SimulatedBlockDevice()
    device.queueMaximum = 100
    let transport = try makeTransport(device)
    _ = try transport.initialize(required: [], optional: [])
    let memory = ArrayDMAMemory(byteCount: 8192, deviceAddress: 0x7000_0000)
    let (queue, notifier) = try transport.setUpQueue(0, maximumSize: 128, memory: memory)
    #expect(queue.size == 64)
    let common = transport.common
    #expect(common.queueSize.read() == 64)
    #expect(common.queueEnable.read() == 1)
    #expect(common.queueDescriptorArea.read() == 0x7000_0000)
    #expect(common.queueDriverArea.read() == queue.availableRingRegion.address)
    #expect(common.queueDeviceArea.read() == queue.usedRingRegion.address)
    #expect(notifier == QueueNotifier(queue: 0, offset: 3 * 4))
    transport.notify(notifier)
    #expect(device.notifications == 1)
    #expect(device.bar.memory.load16(at: SimulatedBlockDevice.notificationBase + 12) == 0)
  }

  @Test func queueSetUpFailures() throws {
    let device = SimulatedBlockDevice()
    let transport = try makeTransport(device)
    _ = try transport.initialize(required: [], optional: [])
    let memory = ArrayDMAMemory(byteCount: 8192, deviceAddress: 0)
    #expect(throws: VirtioError.queueUnavailable(1)) {
      try transport.setUpQueue(1, maximumSize: 8, memory: memory)
    }
    #expect(
      throws: VirtioError.queueMemoryUnusable(
        needed: 4096 + 6 + 512 + 2 + 6 + 2048, available: 6000)
    ) {
      try transport.setUpQueue(
        0, maximumSize: 256, memory: ArrayDMAMemory(byteCount: 6000, deviceAddress: 0))
    }
    device.queueNotifyOffset = 0x400
    #expect(throws: VirtioError.notificationOutOfRange(queue: 0)) {
      try transport.setUpQueue(0, maximumSize: 8, memory: memory)
    }
    device.queueNotifyOffset = 0
    device.refusesVectors = true
    #expect(throws: VirtioError.vectorRejected(3)) {
      try transport.setUpQueue(0, maximumSize: 8, memory: memory, vector: 3)
    }
    #expect(throws: VirtioError.vectorRejected(1)) { try transport.setConfigurationVector(1) }
    device.refusesVectors = false
    _ = try transport.setUpQueue(0, maximumSize: 8, memory: memory, vector: 3)
    #expect(throws: VirtioError.queueUnavailable(0)) {
      try transport.setUpQueue(0, maximumSize: 8, memory: memory)
    }
  }

  @Test func windowsTooSmallForTheirStructuresAreRefused() throws {
    let bar = ObservedWindow(byteCount: 0x100)
    let small = try #require(bar.slice(start: 0, count: 0x37))
    let ok = try #require(bar.slice(start: 0, count: 0x38))
    #expect(throws: VirtioError.windowTooSmall(.commonConfiguration)) {
      try VirtioPCITransport(
        common: small, notification: ok, notifyOffsetMultiplier: 0, interruptStatus: ok, device: nil
      )
    }
    let tiny = try #require(bar.slice(start: 0, count: 1))
    #expect(throws: VirtioError.windowTooSmall(.notification)) {
      try VirtioPCITransport(
        common: ok, notification: tiny, notifyOffsetMultiplier: 0, interruptStatus: ok, device: nil)
    }
  }

  @Test func theInterruptStatusClearsWhenRead() throws {
    let device = SimulatedBlockDevice()
    let transport = try makeTransport(device)
    device.breakDown()
    let status = transport.readInterruptStatus()
    #expect(status[.configurationChange] && !status[.queue])
    #expect(transport.readInterruptStatus().raw == 0)
    #expect(transport.needsReset)
  }

  @Test func configurationReadsRetryWhileTheGenerationChanges() throws {
    let device = SimulatedBlockDevice()
    let transport = try makeTransport(device)
    device.generationChanges = 3
    var reads = 0
    let value = transport.readConfiguration { () -> Int in
      reads += 1
      return reads
    }
    #expect(value == reads)
    #expect(reads == 3)
    device.generationChanges = 1000
    reads = 0
    transport.readConfiguration { reads += 1 }
    #expect(reads == 8)
  }
}
