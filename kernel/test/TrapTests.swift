/// Tests of trap entry and exit: the IDT, resumable traps, and what a trap must preserve.

@_extern(c, "selftest_breakpoint_preserves_state")
private func selftestBreakpointPreservesState() -> UInt64
@_extern(c, "selftest_red_zone_survives_trap")
private func selftestRedZoneSurvivesTrap() -> UInt64

enum TrapTests {
  static var tests: [KernelTest] {
    [
      KernelTest("trap.frame_layout", frameLayout),
      KernelTest("trap.gates", gates),
      KernelTest("trap.breakpoint_resumes", breakpointResumes),
      KernelTest("trap.registers_preserved", registersPreserved),
      KernelTest("trap.red_zone_preserved", redZonePreserved),
    ]
  }

  static func frameLayout(_ t: inout TestContext) {
    t.expect(
      MemoryLayout<TrapFrame>.size == 22 * 8,
      "TrapFrame is \(MemoryLayout<TrapFrame>.size) bytes, boot/traps.asm pushes 176")
    t.expect(
      MemoryLayout<InterruptGate>.size == 16,
      "InterruptGate is \(MemoryLayout<InterruptGate>.size) bytes, the CPU reads 16")
  }

  static func gates(_ t: inout TestContext) {
    for vector in 0..<InterruptTable.vectorCount {
      let gate = InterruptTable.gate(vector)
      t.expect(
        gate.handler == InterruptTable.stubAddress(vector: vector),
        "vector \(vector) points elsewhere")
      t.expect(gate.ist >= 1 && gate.ist <= 3, "vector \(vector) has no interrupt stack")
      t.expect(
        gate.typeAttributes == InterruptGate.presentInterruptGate,
        "vector \(vector) gate type \(hex: gate.typeAttributes)")
    }
    t.expect(InterruptTable.gate(14).ist == 2, "page faults must not run on the faulting stack")
    t.expect(InterruptTable.gate(8).ist == 3, "double faults need their own stack")
  }

  static func breakpointResumes(_ t: inout TestContext) {
    let before = Traps.breakpoints
    CPU.breakpoint()
    t.expect(
      Traps.breakpoints == before + 1,
      "breakpoint count \(Traps.breakpoints), expected \(before + 1)")
  }

  static func registersPreserved(_ t: inout TestContext) {
    t.expect(
      selftestBreakpointPreservesState() == 1, "a register or xmm register changed across int3")
  }

  static func redZonePreserved(_ t: inout TestContext) {
    t.expect(
      selftestRedZoneSurvivesTrap() == 1, "trap entry overwrote the interrupted red zone")
  }
}
