/// Tests that crash the kernel on purpose, so the harness can check the reports.
///
/// `all` skips this group: run them one at a time (`test=selftest.pagefault`). Each
/// must end in a PANIC report naming the exception and the function it happened in;
/// tests/qemu/test_faults.py checks that.

@_extern(c, "selftest_divide_error") private func selftestDivideError() -> UInt64

enum SelfTests {
  static var tests: [KernelTest] {
    [
      KernelTest("selftest.pagefault", pageFault),
      KernelTest("selftest.overflow", overflow),
      KernelTest("selftest.divide", divide),
      KernelTest("selftest.protection", protection),
      KernelTest("selftest.panic", kernelPanic),
      KernelTest("selftest.nullderef", nullDereference),
      KernelTest("selftest.writetext", writeToText),
      KernelTest("selftest.execheap", executeHeap),
      KernelTest("selftest.stackoverflow", stackOverflow),
      KernelTest("selftest.threadoverflow", threadStackOverflow),
      KernelTest("selftest.fail", failedExpectation),
      KernelTest("selftest.hang", hang),
      KernelTest("selftest.triplefault", tripleFault),
    ]
  }

  /// An address no page table maps: boot/entry.asm maps the first 4 GiB only.
  static let unmappedAddress: UInt = 0x0000_7000_0000_0000

  @inline(never)
  static func pageFault(_ t: inout TestContext) {
    let pointer = UnsafeMutablePointer<UInt64>(bitPattern: unmappedAddress)!
    pointer.pointee = 0x5357_4946_544C_4554
    t.expect(false, "the write to \(hex: unmappedAddress) did not fault")
  }

  /// Swift traps on overflow with ud2: this must show up as an invalid-opcode report
  /// pointing at this function.
  @inline(never)
  static func overflow(_ t: inout TestContext) {
    let big = opaque(Int.max)
    let sum = big + 1
    t.expect(false, "Int.max + 1 = \(sum) did not trap")
  }

  @inline(never)
  static func divide(_ t: inout TestContext) {
    let result = selftestDivideError()
    t.expect(false, "1 / 0 = \(result) did not fault")
  }

  /// A non-canonical address: the CPU raises a general protection fault, not a page fault.
  @inline(never)
  static func protection(_ t: inout TestContext) {
    let pointer = UnsafeMutablePointer<UInt64>(bitPattern: UInt(0x8000_0000_0000_0000))!
    let value = pointer.pointee
    t.expect(false, "read \(value) from a non-canonical address")
  }

  @inline(never)
  static func kernelPanic(_ t: inout TestContext) {
    panic("selftest: a deliberate panic")
  }

  @inline(never)
  static func nullDereference(_ t: inout TestContext) {
    let pointer = UnsafePointer<UInt64>(bitPattern: opaqueAddress(8))!
    t.expect(false, "read \(pointer.pointee) through a null pointer")
  }

  @inline(never)
  static func writeToText(_ t: inout TestContext) {
    let pointer = UnsafeMutablePointer<UInt8>(
      bitPattern: UInt(LinkerAddress.textStart.value) + 0x40)!
    pointer.pointee = 0x90
    t.expect(false, "wrote to kernel text")
  }

  @inline(never)
  static func executeHeap(_ t: inout TestContext) {
    guard let memory = KernelHeap.allocate(size: 16, alignment: 16) else { return }
    memory.storeBytes(of: 0xC3, as: UInt8.self)  // ret
    let function = unsafeBitCast(memory, to: (@convention(c) () -> Void).self)
    function()
    t.expect(false, "executed heap memory")
  }

  /// Recurses until the boot stack runs into its guard page.
  @inline(never)
  static func stackOverflow(_ t: inout TestContext) {
    t.expect(recurse(opaque(1)) == 0, "recursion ended")
  }

  /// The same in a thread: the report must name the thread and its guard page.
  static func threadStackOverflow(_ t: inout TestContext) {
    guard let thread = Scheduler.spawn("deep", { _ = recurse(opaque(1)) }) else { return }
    Scheduler.join(thread)
    t.expect(false, "the thread's recursion ended")
  }

  @inline(never)
  static func recurse(_ depth: Int) -> Int {
    if depth == opaque(-1) { return 0 }  // never: the guard page ends the recursion
    var frame = InlineArray<64, Int>(repeating: depth)
    frame[depth & 63] = recurse(depth + 1)
    return frame[(depth + 1) & 63] &+ frame[depth & 63]
  }

  @inline(never)
  static func opaqueAddress(_ address: UInt) -> UInt { address }

  /// A test that fails without crashing: the runner must say FAIL and exit with failure.
  static func failedExpectation(_ t: inout TestContext) {
    t.expect(1 + 1 == opaque(3), "1 + 1 is not 3 (this test fails on purpose)")
  }

  /// Never returns: the harness must time out, not wait forever.
  static func hang(_ t: inout TestContext) {
    CPU.disableInterrupts()
    while true { CPU.pause() }
  }

  /// With an empty IDT, a breakpoint cannot be delivered, nor can the double fault
  /// that follows: the CPU resets, which QEMU's -no-reboot turns into an exit.
  static func tripleFault(_ t: inout TestContext) {
    CPU.loadIDT(base: 0, limit: 0)
    CPU.breakpoint()
    t.expect(false, "survived a breakpoint with no IDT")
  }

  /// Hides a value from the optimizer, so the overflow happens at run time.
  @inline(never)
  static func opaque(_ value: Int) -> Int { value }
}
