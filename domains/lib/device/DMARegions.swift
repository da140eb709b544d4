/// Where DMA regions come from: the only code that turns an address into a `DMARegion`,
/// for memory this domain owns. Everything else narrows a region it was given.
import Registers
import SwiftletLib

extension RRef {
  /// The value's bytes as DMA memory, for the device to read or write in place; nil
  /// unless this domain owns the RRef right now (a lent RRef is the lender's).
  public var dmaRegion: DMARegion? {
    guard let storage = unsafe ownedStorage else { return nil }
    return DMARegion(vouchedAddress: UInt64(storage.address), byteCount: storage.byteCount)
  }
}
