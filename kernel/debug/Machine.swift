/// Leaving the machine: QEMU's isa-debug-exit device, or a halt where there is none.
///
/// A write of v to port 0xf4 makes QEMU exit with status (v << 1) | 1; scripts/qemu.sh
/// maps the three statuses below back to 0, 1 and 2. `make debug` boots without the
/// device, so a panic halts and leaves the machine for gdb to inspect.
enum ExitStatus: UInt8 {
  /// Everything asked for succeeded (QEMU status 33).
  case success = 0x10
  /// A test failed (QEMU status 35).
  case failure = 0x11
  /// The kernel panicked (QEMU status 37).
  case panic = 0x12
}

enum Machine {
  static let debugExitPort: UInt16 = 0xF4

  static func exit(_ status: ExitStatus) -> Never {
    CPU.out8(debugExitPort, status.rawValue)
    CPU.haltForever()
  }
}
