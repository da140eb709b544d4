/// Panics: the kernel's last words, for broken invariants and unexpected exceptions.
///
/// Every report starts with a line "PANIC: ..." (the test harness looks for it), then
/// the details, a symbolized backtrace, and leaves the machine with status `panic`.
/// Nothing here allocates: the heap may be what broke.

/// Reports `message` with a backtrace of the caller and stops the kernel.
func panic(_ message: TextLine) -> Never {
  CPU.disableInterrupts()
  Console.print("PANIC: \(message)")
  // Start at panic()'s caller: panic()'s own frame record holds its return address.
  let frame = UnsafePointer<UInt64>(bitPattern: UInt(CPU.framePointer))!
  Backtrace.print(pc: frame[1] - 1, framePointer: frame[0])
  Machine.exit(.panic)
}

enum ExceptionReport {
  /// Prints the report for an exception the kernel cannot handle, and stops.
  static func panic(_ frame: TrapFrame) -> Never {
    CPU.disableInterrupts()
    let vector = ExceptionVector(rawValue: frame.vector)
    if let vector {
      Console.print(
        "PANIC: \(vector.name) (\(vector.mnemonic), vector \(frame.vector)) in kernel")
    } else {
      Console.print("PANIC: unexpected interrupt, vector \(frame.vector)")
    }
    if let thread = Scheduler.current {
      Console.print("  thread '\(thread.name)' (id \(thread.id))")
    }
    var at: TextLine = "  rip \(hex: frame.rip, width: 16)"
    Backtrace.appendSymbol(frame.rip, to: &at)
    Console.print(at)
    if SymbolTable.kernel?.lookup(frame.rip) == nil, Paging.isMapped(frame.rsp) {
      // A jump or call to a bad address: the word at rsp is likely the return address.
      let top = UnsafePointer<UInt64>(bitPattern: UInt(frame.rsp))!.pointee
      var caller: TextLine = "  [rsp] \(hex: top, width: 16)"
      Backtrace.appendSymbol(top, to: &caller)
      Console.print(caller)
    }
    Console.print(
      "  error \(hex: frame.error, width: 4)  rsp \(hex: frame.rsp, width: 16)  rflags \(hex: frame.rflags, width: 8)"
    )
    if vector == .pageFault {
      let address = CPU.cr2
      Console.print("  cr2 \(hex: address, width: 16)  (\(pageFaultCause(frame.error)))")
      if let owner = GuardPages.owner(of: address) {
        Console.print("  stack overflow: cr2 is in the guard page below \(owner)")
      }
    }
    printRegisters(frame)
    Backtrace.print(pc: frame.rip, framePointer: frame.rbp)
    Machine.exit(.panic)
  }

  private static func printRegisters(_ f: TrapFrame) {
    Console.print(
      "  rax \(hex: f.rax, width: 16)  rbx \(hex: f.rbx, width: 16)  rcx \(hex: f.rcx, width: 16)")
    Console.print(
      "  rdx \(hex: f.rdx, width: 16)  rsi \(hex: f.rsi, width: 16)  rdi \(hex: f.rdi, width: 16)")
    Console.print(
      "  rbp \(hex: f.rbp, width: 16)  r8  \(hex: f.r8, width: 16)  r9  \(hex: f.r9, width: 16)")
    Console.print(
      "  r10 \(hex: f.r10, width: 16)  r11 \(hex: f.r11, width: 16)  r12 \(hex: f.r12, width: 16)")
    Console.print(
      "  r13 \(hex: f.r13, width: 16)  r14 \(hex: f.r14, width: 16)  r15 \(hex: f.r15, width: 16)")
    Console.print(
      "  cs \(hex: f.cs, width: 4)  ss \(hex: f.ss, width: 4)  cr3 \(hex: CPU.cr3, width: 16)")
  }

  /// The page-fault error code in words: what access, and why it failed.
  static func pageFaultCause(_ error: UInt64) -> TextLine {
    var cause = TextLine()
    cause.append(error & 0x10 != 0 ? "instruction fetch" : (error & 0x2 != 0 ? "write" : "read"))
    cause.append(error & 0x1 != 0 ? ", protection violation" : ", page not present")
    if error & 0x8 != 0 { cause.append(", reserved bit set") }
    return cause
  }
}
