/// The interrupted context as boot/traps.asm saves it, and where traps go.

/// The registers saved on trap entry, lowest address first, exactly as boot/traps.asm
/// pushes them. All fields are UInt64, so Swift lays them out in declaration order; a
/// test checks the size.
struct TrapFrame {
  var r15, r14, r13, r12, r11, r10, r9, r8: UInt64
  var rbp, rdi, rsi, rdx, rcx, rbx, rax: UInt64
  var vector, error: UInt64
  // Pushed by the CPU.
  var rip, cs, rflags, rsp, ss: UInt64
}

enum Traps {
  /// Breakpoints (int3) taken so far; a breakpoint is counted and resumed.
  nonisolated(unsafe) static var breakpoints = 0
}

/// Called by boot/traps.asm for every trap and interrupt, with interrupts disabled.
/// Returning resumes the interrupted code with the (possibly changed) frame.
@_cdecl("trap_dispatch")
func trapDispatch(_ rawFrame: UnsafeMutableRawPointer) {
  let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
  switch frame.pointee.vector {
  case ExceptionVector.breakpoint.rawValue:
    Traps.breakpoints += 1
  case 32...:
    Interrupts.dispatch(&frame.pointee)
  default:
    // In a domain, a fault ends the domain (and the call into it), not the kernel.
    if DomainManager.handleException(&frame.pointee) { return }
    ExceptionReport.panic(frame.pointee)
  }
}
