/// The instructions Swift cannot express, implemented in boot/cpu.asm, and the
/// addresses the linker script defines.

@_extern(c, "port_out8") private func portOut8(_ port: UInt16, _ value: UInt8)
@_extern(c, "port_in8") private func portIn8(_ port: UInt16) -> UInt8
@_extern(c, "port_out16") private func portOut16(_ port: UInt16, _ value: UInt16)
@_extern(c, "port_in16") private func portIn16(_ port: UInt16) -> UInt16
@_extern(c, "port_out32") private func portOut32(_ port: UInt16, _ value: UInt32)
@_extern(c, "port_in32") private func portIn32(_ port: UInt16) -> UInt32
@_extern(c, "cpu_read_cr0") private func cpuReadCr0() -> UInt64
@_extern(c, "cpu_read_cr2") private func cpuReadCr2() -> UInt64
@_extern(c, "cpu_read_cr3") private func cpuReadCr3() -> UInt64
@_extern(c, "cpu_read_cr4") private func cpuReadCr4() -> UInt64
@_extern(c, "cpu_read_rflags") private func cpuReadRflags() -> UInt64
@_extern(c, "cpu_read_msr") private func cpuReadMsr(_ msr: UInt32) -> UInt64
@_extern(c, "mmio_read32") private func mmioRead32(_ address: UInt64) -> UInt32
@_extern(c, "mmio_write32") private func mmioWrite32(_ address: UInt64, _ value: UInt32)
@_extern(c, "cpu_divide_128")
private func cpuDivide128(_ high: UInt64, _ low: UInt64, _ divisor: UInt64) -> UInt64
@_extern(c, "cpu_write_msr") private func cpuWriteMsr(_ msr: UInt32, _ value: UInt64)
@_extern(c, "cpu_wait_for_interrupt") private func cpuWaitForInterrupt()
@_extern(c, "cpu_write_cr3") private func cpuWriteCR3(_ value: UInt64)
@_extern(c, "cpu_invalidate_page") private func cpuInvalidatePage(_ address: UInt64)
@_extern(c, "cpu_halt") private func cpuHalt()
@_extern(c, "cpu_halt_forever") private func cpuHaltForever()
@_extern(c, "cpu_disable_interrupts") private func cpuDisableInterrupts()
@_extern(c, "cpu_enable_interrupts") private func cpuEnableInterrupts()
@_extern(c, "cpu_pause") private func cpuPause()
@_extern(c, "cpu_read_tsc") private func cpuReadTsc() -> UInt64
@_extern(c, "cpu_hardware_random") private func cpuHardwareRandom(
  _ value: UnsafeMutablePointer<UInt64>
) -> UInt32
@_extern(c, "cpu_load_idt") private func cpuLoadIdt(_ base: UInt64, _ limit: UInt16)
@_extern(c, "cpu_breakpoint") private func cpuBreakpoint()
@_extern(c, "cpu_frame_pointer") private func cpuFramePointer() -> UInt64
@_extern(c, "linker_address") private func linkerAddress(_ which: UInt32) -> UInt64

enum CPU {
  static func out8(_ port: UInt16, _ value: UInt8) { portOut8(port, value) }
  static func in8(_ port: UInt16) -> UInt8 { portIn8(port) }
  static func out16(_ port: UInt16, _ value: UInt16) { portOut16(port, value) }
  static func in16(_ port: UInt16) -> UInt16 { portIn16(port) }
  static func out32(_ port: UInt16, _ value: UInt32) { portOut32(port, value) }
  static func in32(_ port: UInt16) -> UInt32 { portIn32(port) }

  static var cr0: UInt64 { cpuReadCr0() }
  /// The address a page fault tried to use.
  static var cr2: UInt64 { cpuReadCr2() }
  static var cr3: UInt64 { cpuReadCr3() }
  static var cr4: UInt64 { cpuReadCr4() }
  /// Switches to the page tables at `root`, flushing the TLB.
  static func loadPageTables(root: UInt64) { cpuWriteCR3(root) }
  /// Drops the TLB entry for the page holding `address`.
  static func invalidatePage(_ address: UInt64) { cpuInvalidatePage(address) }
  static var rflags: UInt64 { cpuReadRflags() }
  static func readMSR(_ msr: UInt32) -> UInt64 { cpuReadMsr(msr) }
  /// (high << 64 | low) / divisor, which must fit 64 bits (high < divisor). One `div`:
  /// Swift's full-width division would need a 128-bit runtime routine.
  static func divide(high: UInt64, low: UInt64, by divisor: UInt64) -> UInt64 {
    cpuDivide128(high, low, divisor)
  }
  static func writeMSR(_ msr: UInt32, _ value: UInt64) { cpuWriteMsr(msr, value) }
  /// Reads a 32-bit device register (mapped uncached).
  static func read32(_ address: UInt64) -> UInt32 { mmioRead32(address) }
  static func write32(_ address: UInt64, _ value: UInt32) { mmioWrite32(address, value) }
  /// Enables interrupts, sleeps until one is handled, and disables them again.
  static func waitForInterrupt() { cpuWaitForInterrupt() }
  static var interruptsEnabled: Bool { rflags & (1 << 9) != 0 }
  static var timestamp: UInt64 { cpuReadTsc() }
  /// A random word from the CPU's generator (RDRAND), or nil if it has none or gave none.
  static var hardwareRandom: UInt64? {
    var value: UInt64 = 0
    return cpuHardwareRandom(&value) != 0 ? value : nil
  }
  /// The caller's frame pointer, where a backtrace of the running code starts.
  @inline(__always) static var framePointer: UInt64 { cpuFramePointer() }

  static func halt() { cpuHalt() }
  static func haltForever() -> Never {
    cpuHaltForever()  // does not return; C cannot say so
    while true {}
  }
  static func disableInterrupts() { cpuDisableInterrupts() }
  static func enableInterrupts() { cpuEnableInterrupts() }
  static func pause() { cpuPause() }
  static func loadIDT(base: UInt64, limit: UInt16) { cpuLoadIdt(base, limit) }
  static func breakpoint() { cpuBreakpoint() }
}

/// Addresses fixed by linker.ld and boot/entry.asm (the order is boot/cpu.asm's table).
enum LinkerAddress: UInt32 {
  case kernelStart, kernelEnd, textStart, textEnd, symbolsStart, symbolsEnd
  case bootStackBottom, bootStackTop, bootstrapHeapStart, bootstrapHeapEnd
  case rodataStart, rodataEnd, dataStart, dataEnd
  /// The bottoms of the three 16 KiB interrupt stacks (boot/entry.asm).
  case interruptStack1, interruptStack2, interruptStack3

  var value: UInt64 { linkerAddress(rawValue) }
}
