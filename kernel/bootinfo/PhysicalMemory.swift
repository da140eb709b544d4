// How the parser reads the loader's memory: through a reader the caller supplies.
//
// The kernel's reader hands out its identity-mapped memory; host tests hand out fake
// memory. `LoaderMemory` wraps either with the checks every read needs: the range must
// not wrap around the address space, and the reader must return all of it.

/// Read access to physical memory.
public protocol PhysicalMemory {
  /// The bytes at [address, address+count), or nil if that range can't be read.
  func bytes(at address: UInt64, count: Int) -> UnsafeRawBufferPointer?
}

/// Strings the loader points at are read up to this many bytes, NUL included.
let maximumStringLength: UInt64 = 4096

/// A `PhysicalMemory` with checked reads and the loads the parsers need.
struct LoaderMemory<M: PhysicalMemory> {
  let memory: M

  /// The `count` bytes at `address`, or nil if the range wraps, is too big to ask for, or
  /// the reader cannot give all of it.
  func bytes(at address: UInt64, count: UInt64) -> UnsafeRawBufferPointer? {
    guard count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    guard count <= UInt64(Int.max), !address.addingReportingOverflow(count).overflow,
      let buffer = memory.bytes(at: address, count: Int(count)), buffer.count >= Int(count)
    else { return nil }
    return UnsafeRawBufferPointer(rebasing: buffer[0..<Int(count)])
  }

  /// The NUL-terminated string at `address`, and the range it occupies with its NUL.
  /// Reads a byte at a time so that an error can say exactly where readable memory ends.
  func cString(at address: UInt32, part: BootInfoPart) throws(BootInfoError) -> (
    String, Range<UInt64>
  ) {
    let start = UInt64(address)
    var bytes: [UInt8] = []
    while UInt64(bytes.count) < maximumStringLength {
      let byteAddress = start + UInt64(bytes.count)
      guard let byte = self.bytes(at: byteAddress, count: 1) else {
        throw .unterminatedString(part, address: start, unreadableAt: byteAddress)
      }
      if byte[0] == 0 {
        return (String(decoding: bytes, as: UTF8.self), start..<byteAddress + 1)
      }
      bytes.append(byte[0])
    }
    throw .stringTooLong(part, address: start, limit: maximumStringLength)
  }
}

extension UnsafeRawBufferPointer {
  /// The little-endian 32-bit value at `offset`; the caller has checked the bounds.
  func littleEndianUInt32(at offset: Int) -> UInt32 {
    UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
  }

  /// The little-endian 64-bit value at `offset`; the caller has checked the bounds.
  func littleEndianUInt64(at offset: Int) -> UInt64 {
    UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
  }

  /// The bytes from `offset` up to the first NUL, as a string; nil if there is no NUL.
  func nulTerminatedString(from offset: Int) -> String? {
    guard offset <= count, let nul = self[offset...].firstIndex(of: 0) else { return nil }
    return String(decoding: self[offset..<nul], as: UTF8.self)
  }
}
