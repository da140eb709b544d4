/// A virtio PCI function's transport made from what a driver was given: its
/// configuration space and its memory BARs. Every virtio driver brings its device up
/// this way, so it is done once, here, where host tests reach it.
import Registers

/// A configuration space read through a function that may refuse a read (the kernel's,
/// for the device a driver owns): a refused read reads as all ones, as a missing PCI
/// function's does.
public struct PCIConfigurationReader: PCIConfigurationSpace {
  private let read: (_ offset: Int, _ width: Int) -> UInt32?

  public init(_ read: @escaping (_ offset: Int, _ width: Int) -> UInt32?) { self.read = read }

  public func read8(at offset: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: read(offset, 1) ?? 0xFF)
  }
  public func read16(at offset: Int) -> UInt16 {
    UInt16(truncatingIfNeeded: read(offset, 2) ?? 0xFFFF)
  }
  public func read32(at offset: Int) -> UInt32 { read(offset, 4) ?? 0xFFFF_FFFF }
}

extension VirtioPCITransport {
  /// The transport of the modern virtio device whose configuration space is `config`:
  /// its structures found through the capability list, each a window of the memory BAR
  /// `bar(index)` gives (nil if there is none at that index). Throws for a list that is
  /// malformed or lacks a structure, and for a structure outside its BAR.
  public init<Config: PCIConfigurationSpace, Bar: MemoryWindow>(
    reading config: Config, bar: (Int) -> Bar?
  ) throws(VirtioError) where Window == WindowSlice<Bar> {
    let capabilities = try VirtioPCICapabilities(reading: config)
    func window(_ structure: VirtioStructure, _ kind: VirtioStructureKind) throws(VirtioError)
      -> WindowSlice<Bar>
    {
      guard let bar = bar(structure.bar), structure.fits(inBarOfSize: UInt64(bar.byteCount)),
        let window = WindowSlice(bar, start: structure.offset, count: structure.length)
      else { throw .structureOutsideBAR(kind) }
      return window
    }
    let device: WindowSlice<Bar>?
    if let structure = capabilities.device {
      device = try window(structure, .deviceConfiguration)
    } else {
      device = nil
    }
    try self.init(
      common: window(capabilities.common, .commonConfiguration),
      notification: window(capabilities.notification, .notification),
      notifyOffsetMultiplier: capabilities.notifyOffsetMultiplier,
      interruptStatus: window(capabilities.interruptStatus, .interruptStatus), device: device)
  }
}
