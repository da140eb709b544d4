/// Guest memory as the simulated device reaches it: the DMA memories the test made, each
/// at its device address. A reach outside all of them is recorded as a fault (on real
/// hardware, a write into someone else's memory).
import Registers

final class BusMemory {
  private var memories: [ArrayDMAMemory] = []
  private(set) var faults: [UInt64] = []

  func attach(_ memory: ArrayDMAMemory) { memories.append(memory) }

  /// Forgets `memory`: what the device reaches there now is a fault (freed memory).
  func detach(_ memory: ArrayDMAMemory) { memories.removeAll { $0 === memory } }

  private func place(_ address: UInt64, _ count: Int) -> (ArrayDMAMemory, Int)? {
    let found = memories.first { memory in
      let start = memory.dmaRegion.address
      return address >= start && count <= memory.byteCount
        && address - start <= UInt64(memory.byteCount - count)
    }
    guard let found else {
      faults.append(address)
      return nil
    }
    return (found, Int(address - found.dmaRegion.address))
  }

  func read(_ address: UInt64, count: Int) -> [UInt8]? {
    guard let (memory, offset) = place(address, count) else { return nil }
    return Array(memory.bytes[offset..<offset + count])
  }

  func write(_ bytes: [UInt8], to address: UInt64) -> Bool {
    guard let (memory, offset) = place(address, bytes.count) else { return false }
    memory.write(bytes, at: offset)
    return true
  }

  func load64(_ address: UInt64) -> UInt64 {
    (read(address, count: 8) ?? []).reversed().reduce(0) { $0 << 8 | UInt64($1) }
  }
}
