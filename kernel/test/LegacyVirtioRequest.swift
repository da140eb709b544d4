/// One read of sector 0 through a legacy virtio-blk interface: just enough driver to
/// make the device interrupt, for the tests of MSI-X and INTx delivery.
///
/// The legacy (virtio 0.9.5) interface is registers in I/O BAR 0: features, a queue's
/// page frame number, size, select and notify, the device status and the ISR. With
/// MSI-X on, two vector registers follow (config, then queue), and the device sends
/// nothing for a queue whose vector is left at 0xFFFF. The queue is one page-aligned
/// run: descriptors, the available ring, then the used ring on the next page boundary.
/// Not a driver: it submits once, and the test resets the device afterwards.
import Memory

struct LegacyVirtioRequest {
  private static let queueAddress: UInt16 = 0x08
  private static let queueSize: UInt16 = 0x0C
  private static let queueSelect: UInt16 = 0x0E
  private static let queueNotify: UInt16 = 0x10
  private static let deviceStatus: UInt16 = 0x12
  private static let interruptStatus: UInt16 = 0x13
  private static let queueVector: UInt16 = 0x16
  private static let guestFeatures: UInt16 = 0x04

  let ports: UInt16
  private let queue: PhysicalFrame
  private let queuePages: Int
  private let request: PhysicalFrame
  private let usedOffset: Int

  /// Sets the device up with queue 0 (its vector 0 if `msix`) and submits the read;
  /// nil if the device or memory says no.
  init?(ports: UInt16, msix: Bool) {
    self.ports = ports
    CPU.out8(ports + Self.deviceStatus, 0)  // reset
    CPU.out8(ports + Self.deviceStatus, 1 | 2)  // acknowledge, driver
    CPU.out32(ports + Self.guestFeatures, 0)
    CPU.out16(ports + Self.queueSelect, 0)
    let size = Int(CPU.in16(ports + Self.queueSize))
    guard size > 0 else { return nil }
    usedOffset = (16 * size + 6 + 2 * size + 4095) & ~4095
    queuePages = (usedOffset + 6 + 8 * size + 4095) / 4096
    guard let queue = Frames.allocateContiguous(count: queuePages) else { return nil }
    guard let request = Frames.allocate() else {
      Frames.free(queue, count: queuePages)
      return nil
    }
    self.queue = queue
    self.request = request
    bytes(queue).initializeMemory(as: UInt8.self, repeating: 0, count: queuePages * 4096)
    bytes(request).initializeMemory(as: UInt8.self, repeating: 0xAA, count: 4096)
    CPU.out32(ports + Self.queueAddress, UInt32(queue.address >> 12))
    if msix {
      CPU.out16(ports + Self.queueVector, 0)
      guard CPU.in16(ports + Self.queueVector) == 0 else { return nil }
    }
    CPU.out8(ports + Self.deviceStatus, 1 | 2 | 4)  // driver OK

    // Header (type 0, read; sector 0), 512 bytes of data, one status byte.
    let header = bytes(request)
    header.storeBytes(of: 0, toByteOffset: 0, as: UInt32.self)
    header.storeBytes(of: 0, toByteOffset: 8, as: UInt64.self)
    describe(0, request.address, 16, flags: 1, next: 1)
    describe(1, request.address + 512, 512, flags: 1 | 2, next: 2)
    describe(2, request.address + 1024, 1, flags: 2, next: 0)
    let available = bytes(queue) + 16 * size
    available.storeBytes(of: 0, toByteOffset: 4, as: UInt16.self)  // ring[0]: descriptor 0
    available.storeBytes(of: 1, toByteOffset: 2, as: UInt16.self)  // index
    CPU.out16(ports + Self.queueNotify, 0)
  }

  /// Whether the device has used the request, and its status byte (0: done well).
  var completed: Bool { bytes(queue).load(fromByteOffset: usedOffset + 2, as: UInt16.self) == 1 }
  var status: UInt8 { bytes(request).load(fromByteOffset: 1024, as: UInt8.self) }

  /// Reads (and so clears) the ISR, which lowers a legacy device's INTx.
  func acknowledge() -> UInt8 { CPU.in8(ports + Self.interruptStatus) }

  /// Resets the device, so it lets go of the memory, and frees it.
  func finish() {
    CPU.out8(ports + Self.deviceStatus, 0)
    Frames.free(queue, count: queuePages)
    Frames.free(request)
  }

  private func describe(
    _ index: Int, _ address: UInt64, _ length: UInt32, flags: UInt16, next: UInt16
  ) {
    let descriptor = bytes(queue) + 16 * index
    descriptor.storeBytes(of: address, toByteOffset: 0, as: UInt64.self)
    descriptor.storeBytes(of: length, toByteOffset: 8, as: UInt32.self)
    descriptor.storeBytes(of: flags, toByteOffset: 12, as: UInt16.self)
    descriptor.storeBytes(of: next, toByteOffset: 14, as: UInt16.self)
  }

  private func bytes(_ frame: PhysicalFrame) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: UInt(frame.address))!
  }
}
