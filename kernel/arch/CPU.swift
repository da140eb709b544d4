/// The instructions Swift cannot express, implemented in boot/cpu.asm, and the
/// addresses the linker script defines.

@_extern(c, "port_out8") private func port_out8(_ port: UInt16, _ value: UInt8)
@_extern(c, "port_in8") private func port_in8(_ port: UInt16) -> UInt8
@_extern(c, "port_out16") private func port_out16(_ port: UInt16, _ value: UInt16)
@_extern(c, "port_in16") private func port_in16(_ port: UInt16) -> UInt16
@_extern(c, "port_out32") private func port_out32(_ port: UInt16, _ value: UInt32)
@_extern(c, "port_in32") private func port_in32(_ port: UInt16) -> UInt32
@_extern(c, "cpu_read_cr0") private func cpu_read_cr0() -> UInt64
@_extern(c, "cpu_read_cr2") private func cpu_read_cr2() -> UInt64
@_extern(c, "cpu_read_cr3") private func cpu_read_cr3() -> UInt64
@_extern(c, "cpu_read_cr4") private func cpu_read_cr4() -> UInt64
@_extern(c, "cpu_read_rflags") private func cpu_read_rflags() -> UInt64
@_extern(c, "cpu_read_msr") private func cpu_read_msr(_ msr: UInt32) -> UInt64
@_extern(c, "cpu_halt") private func cpu_halt()
@_extern(c, "cpu_halt_forever") private func cpu_halt_forever()
@_extern(c, "cpu_disable_interrupts") private func cpu_disable_interrupts()
@_extern(c, "cpu_enable_interrupts") private func cpu_enable_interrupts()
@_extern(c, "cpu_pause") private func cpu_pause()
@_extern(c, "cpu_read_tsc") private func cpu_read_tsc() -> UInt64
@_extern(c, "cpu_load_idt") private func cpu_load_idt(_ base: UInt64, _ limit: UInt16)
@_extern(c, "cpu_breakpoint") private func cpu_breakpoint()
@_extern(c, "cpu_frame_pointer") private func cpu_frame_pointer() -> UInt64
@_extern(c, "linker_address") private func linker_address(_ which: UInt32) -> UInt64

enum CPU {
  static func out8(_ port: UInt16, _ value: UInt8) { port_out8(port, value) }
  static func in8(_ port: UInt16) -> UInt8 { port_in8(port) }
  static func out16(_ port: UInt16, _ value: UInt16) { port_out16(port, value) }
  static func in16(_ port: UInt16) -> UInt16 { port_in16(port) }
  static func out32(_ port: UInt16, _ value: UInt32) { port_out32(port, value) }
  static func in32(_ port: UInt16) -> UInt32 { port_in32(port) }

  static var cr0: UInt64 { cpu_read_cr0() }
  /// The address a page fault tried to use.
  static var cr2: UInt64 { cpu_read_cr2() }
  static var cr3: UInt64 { cpu_read_cr3() }
  static var cr4: UInt64 { cpu_read_cr4() }
  static var rflags: UInt64 { cpu_read_rflags() }
  static func readMSR(_ msr: UInt32) -> UInt64 { cpu_read_msr(msr) }
  static var timestamp: UInt64 { cpu_read_tsc() }
  /// The caller's frame pointer, where a backtrace of the running code starts.
  @inline(__always) static var framePointer: UInt64 { cpu_frame_pointer() }

  static func halt() { cpu_halt() }
  static func haltForever() -> Never {
    cpu_halt_forever()  // does not return; C cannot say so
    while true {}
  }
  static func disableInterrupts() { cpu_disable_interrupts() }
  static func enableInterrupts() { cpu_enable_interrupts() }
  static func pause() { cpu_pause() }
  static func loadIDT(base: UInt64, limit: UInt16) { cpu_load_idt(base, limit) }
  static func breakpoint() { cpu_breakpoint() }
}

/// Addresses fixed by linker.ld and boot/entry.asm (the order is boot/cpu.asm's table).
enum LinkerAddress: UInt32 {
  case kernelStart, kernelEnd, textStart, textEnd, symbolsStart, symbolsEnd
  case bootStackBottom, bootStackTop, bootstrapHeapStart, bootstrapHeapEnd

  var value: UInt64 { linker_address(rawValue) }
}
