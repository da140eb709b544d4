/// The interrupt descriptor table: one gate per vector, each pointing at its stub in
/// boot/traps.asm and switching to the interrupt stack that file assigns it.

@_extern(c, "trap_stub_address") private func trapStubAddress(_ vector: UInt32) -> UInt64
@_extern(c, "trap_stub_ist") private func trapStubIst(_ vector: UInt32) -> UInt8

/// One 16-byte 64-bit interrupt gate, as the CPU reads it.
struct InterruptGate: Equatable {
  var offsetLow: UInt16 = 0
  var selector: UInt16 = 0
  var ist: UInt8 = 0
  var typeAttributes: UInt8 = 0
  var offsetMiddle: UInt16 = 0
  var offsetHigh: UInt32 = 0
  var reserved: UInt32 = 0

  static let kernelCodeSelector: UInt16 = 0x08
  /// Present, ring 0, 64-bit interrupt gate (interrupts disabled on entry).
  static let presentInterruptGate: UInt8 = 0x8E

  init() {}

  init(handler: UInt64, ist: UInt8) {
    offsetLow = UInt16(truncatingIfNeeded: handler)
    offsetMiddle = UInt16(truncatingIfNeeded: handler >> 16)
    offsetHigh = UInt32(truncatingIfNeeded: handler >> 32)
    selector = InterruptGate.kernelCodeSelector
    self.ist = ist
    typeAttributes = InterruptGate.presentInterruptGate
  }

  var handler: UInt64 {
    UInt64(offsetLow) | UInt64(offsetMiddle) << 16 | UInt64(offsetHigh) << 32
  }
}

enum InterruptTable {
  static let vectorCount = 256
  nonisolated(unsafe) private static var gates = InlineArray<256, InterruptGate>(
    repeating: InterruptGate())

  /// Fills every gate and loads the table. Exceptions are reported from here on.
  static func load() {
    for vector in 0..<vectorCount {
      gates[vector] = InterruptGate(
        handler: stubAddress(vector: vector), ist: stubStack(vector: vector))
    }
    withUnsafePointer(to: &gates) { pointer in
      CPU.loadIDT(
        base: UInt64(UInt(bitPattern: pointer)),
        limit: UInt16(MemoryLayout<InterruptGate>.stride * vectorCount - 1))
    }
  }

  static func gate(_ vector: Int) -> InterruptGate { gates[vector] }
  static func stubAddress(vector: Int) -> UInt64 { trapStubAddress(UInt32(vector)) }
  static func stubStack(vector: Int) -> UInt8 { trapStubIst(UInt32(vector)) }
}
