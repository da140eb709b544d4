/// Tests of what the kernel learned at boot: boot information and CPU state.
import BootInfo

enum BootTests {
  static var tests: [KernelTest] {
    [
      KernelTest("boot.protocol", bootProtocol),
      KernelTest("boot.memory_map", memoryMap),
      KernelTest("boot.command_line", commandLine),
      KernelTest("boot.long_mode", longMode),
    ]
  }

  static func bootProtocol(_ t: inout TestContext) {
    let boot = Kernel.bootInfo
    t.expect(!boot.bootLoaderName.isEmpty, "the loader gave no name")
    t.expect(
      boot.bootProtocol == .multiboot1 || boot.bootProtocol == .multiboot2, "unknown protocol")
  }

  static func memoryMap(_ t: inout TestContext) {
    let boot = Kernel.bootInfo
    t.expect(boot.usableBytes >= 64 << 20, "only \(mib: boot.usableBytes) MiB usable")
    let kernelStart = LinkerAddress.kernelStart.value
    let kernelEnd = LinkerAddress.kernelEnd.value
    let holdsKernel = boot.memoryMap.contains {
      $0.kind == .available && $0.start <= kernelStart && kernelEnd <= $0.end
    }
    t.expect(holdsKernel, "no available region holds the kernel image")
    let available = boot.memoryMap.filter { $0.kind == .available }.sorted { $0.start < $1.start }
    for (first, second) in zip(available, available.dropFirst()) {
      t.expect(first.end <= second.start, "available regions overlap at \(hex: second.start)")
    }
  }

  static func commandLine(_ t: inout TestContext) {
    // The tests run because the command line asked for them.
    let options = KernelOptions(parsing: Kernel.bootInfo.commandLine)
    t.expect(
      options.testPattern != nil, "command line '\(Kernel.bootInfo.commandLine)' has no test=")
  }

  static func longMode(_ t: inout TestContext) {
    let efer = CPU.readMSR(0xC000_0080)
    t.expect(efer & (1 << 10) != 0, "EFER.LMA clear: not in long mode")
    t.expect(CPU.cr0 & (1 << 2) == 0, "CR0.EM set: SSE would fault")
    t.expect(CPU.cr4 & (1 << 9) != 0, "CR4.OSFXSR clear: SSE state not enabled")
    t.expect(CPU.cr0 & (1 << 16) != 0, "CR0.WP clear: read-only pages would not bind the kernel")
  }
}
