/// The serial console shell: a prompt for looking at a running kernel.
///
/// It blocks until console input arrives by interrupt. When stdin is not a terminal, scripts/qemu.sh feeds it to
/// the shell and ends with `shutdown`, so `make run </dev/null` boots and returns.
import BootInfo
import Memory
import PCI
import SwiftletInterfaces
import SwiftletLib

enum Shell {
  static let prompt: StaticString = "swiftlet> "

  static func run() -> Never {
    Console.print("Type 'help' for commands.")
    while true {
      Console.write(TextLine(stringLiteral: prompt))
      let line = readLine()
      execute(line)
    }
  }

  static func execute(_ line: String) {
    let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard let command = words.first else { return }
    switch command {
    case "help":
      Console.print("help      this list")
      Console.print("version   the kernel version")
      Console.print("mem       memory map and heap use")
      Console.print("boot      boot loader, protocol, command line, modules")
      Console.print("tests     the in-kernel tests (boot with test=<pattern> to run them)")
      Console.print("uptime    time since boot, timer ticks and interrupts taken")
      Console.print("threads   every thread with its state and priority")
      Console.print("domains   every domain: state, heap, calls, crashes, restarts")
      Console.print("devices   every PCI function: identity, interrupts, BARs, owner")
      Console.print("callcost  TSC ticks per null cross-domain call (instructions under -icount)")
      Console.print("net       the network interface: driver, MAC, address, counters, drops")
      Console.print("arp       the network stack's ARP cache")
      Console.print("ping ADDRESS [COUNT]  ICMP echo to ADDRESS (10.0.2.2 answers under QEMU)")
      Console.print(
        "fault DOMAIN POINT [AFTER] [KIND]  (testing) fault KIND (trap) in DOMAIN at its AFTER-th pass of POINT"
      )
      Console.print(
        "netfloor [SECONDS]  the NIC lent to a polled kernel UDP echo (port 7), a floor")
      Console.print("          for the network benchmarks; ends after SECONDS or at the next line")
      Console.print("shutdown  leave QEMU")
    case "version":
      Kernel.printBanner()
    case "mem":
      showMemory()
    case "boot":
      showBoot()
    case "tests":
      for test in TestRunner.allTests() { Console.print("  \(test.name)") }
    case "uptime":
      showUptime()
    case "threads":
      showThreads()
    case "domains":
      showDomains()
    case "devices":
      showDevices()
    case "callcost":
      measureCallCost()
    case "net":
      showNetwork()
    case "arp":
      showARP()
    case "ping":
      ping(words.dropFirst())
    case "fault":
      planFault(words.dropFirst())
    case "netfloor":
      // The line that ended it is a command of its own.
      if let line = NetworkFloor.command(words.dropFirst()) { execute(line) }
    case "shutdown", "exit", "quit":
      Console.print("Shutting down.")
      Machine.exit(.success)
    default:
      Console.print("unknown command '\(String(command))' (type 'help' for the list)")
    }
  }

  static func showMemory() {
    for region in Kernel.bootInfo.memoryMap {
      Console.print(
        "  \(hex: region.start, width: 12)-\(hex: region.end, width: 12) \(kindName(region.kind))")
    }
    let heap = KernelHeap.statistics
    Console.print(
      "heap: \(heap.bytesInUse) of \(heap.capacity) bytes in use (peak \(heap.peakBytesInUse)), \(heap.liveAllocations) live allocations, \(heap.totalAllocations) in all"
    )
    let domains = DomainManager.domains
    let images = domains.reduce(0) { $0 + $1.loadedFrames }
    let pristine = domains.reduce(0) { $0 + $1.pristineFrames }
    let heaps = domains.reduce(0) { $0 + $1.heapFrameCount }
    let frames = Frames.statistics
    Console.print(
      "frames: \(frames.freeFrames) of \(frames.totalFrames) free; domains hold \(images) for images, \(pristine) for their pristine copies, \(heaps) for heaps"
    )
  }

  static func showUptime() {
    let milliseconds = Clock.nanoseconds / 1_000_000
    Console.print(
      "up \(milliseconds / 1000).\(milliseconds % 1000 / 100) s, \(Clock.ticks) ticks at \(Clock.tickHertz) Hz, \(Serial.interrupts) serial interrupts"
    )
    // Under -icount the TSC counts instructions: the busy figure is the instructions
    // run since boot (scripts/bench_net.py reads it around a burst of traffic).
    let idle = Scheduler.idleTicks
    Console.print(
      "cpu: \(CPU.timestamp &- idle) TSC ticks busy, \(idle) idle since the machine started")
  }

  static func showDomains() {
    for domain in DomainManager.domains {
      let heap = domain.heapStatistics
      Console.print(
        "  \(domain.id.rawValue) \(domain.name): \(domain.state.name), image \(domain.loadedFrames * 4) KiB (+\(domain.pristineFrames * 4) KiB pristine), heap \(heap.bytesInUse)/\(heap.capacity) bytes, \(domain.calls) calls, \(domain.crashes) crashes, \(domain.restarts) restarts"
      )
      if let why = whyDown(domain) { Console.print("    \(why)") }
    }
  }

  /// Why a domain is down and what happens next, for `domains`; nil if it is not down.
  static func whyDown(_ domain: Domain) -> TextLine? {
    let backoff = domain.backoff
    switch domain.state {
    case .failed:
      return
        "failed: crashed \(backoff.quickCrashes) times in a row, last: \(domain.lastCrash); held stopped"
    case .crashed:
      let now = Clock.nanoseconds
      guard !backoff.mayRestart(at: now) else { return "crashed: \(domain.lastCrash)" }
      let wait = (backoff.restartNotBefore - now) / 1_000_000
      return
        "crashed \(backoff.quickCrashes) times in a row, last: \(domain.lastCrash); no restart for \(wait) ms"
    case .starting, .running, .destroyed:
      return nil
    }
  }

  static func showDevices() {
    for device in DeviceManager.devices {
      Console.print("  \(device.address.description) \(device.summary)")
      Console.print(
        "    \(device.ownerDescription), \(DeviceManager.interruptName(device.interrupt)), \(device.delivered) interrupts"
      )
    }
    let buses = DeviceManager.busCount
    Console.print(
      "\(DeviceManager.devices.count) functions on \(buses) bus\(buses == 1 ? "" : "es")")
  }

  /// A rough figure for the null proxied call; `make bench` (issue 5) does this
  /// properly, with baselines and statistics.
  static func measureCallCost() {
    guard case .success(let greeter) = GreeterProxy.connect() else {
      Console.print("no Greeter to call")
      return
    }
    let rounds: UInt64 = 10_000
    _ = greeter.ping()
    let loopStart = CPU.timestamp
    for _ in 0..<rounds { CPU.pause() }
    let loop = CPU.timestamp - loopStart
    let start = CPU.timestamp
    for _ in 0..<rounds { _ = greeter.ping() }
    let calls = CPU.timestamp - start
    Console.print(
      "null proxied call: \(calls / rounds) ticks each (\(rounds) calls); empty loop with one pause: \(loop / rounds) ticks"
    )
  }

  static func showThreads() {
    Scheduler.forEachThread { thread in
      Console.print(
        "  \(thread.id) \(thread.name): \(stateName(thread.state)), \(priorityName(thread.priority))"
      )
    }
    Console.print("\(Scheduler.switches) switches, \(Scheduler.preemptions) preemptions")
  }

  static func stateName(_ state: Thread.State) -> StaticString {
    switch state {
    case .ready: "ready"
    case .running: "running"
    case .blocked: "blocked"
    case .sleeping: "sleeping"
    case .finished: "finished"
    }
  }

  static func priorityName(_ priority: Thread.Priority) -> StaticString {
    switch priority {
    case .high: "high"
    case .normal: "normal"
    case .low: "low"
    case .domain: "domain"
    }
  }

  static func showBoot() {
    let boot = Kernel.bootInfo
    Console.print("loader: \(boot.bootLoaderName)")
    Console.print("command line: '\(boot.commandLine)'")
    for module in boot.modules {
      Console.print("module \(hex: module.start)-\(hex: module.end) '\(module.commandLine)'")
    }
  }

  static func kindName(_ kind: MemoryKind) -> StaticString {
    switch kind {
    case .available: "available"
    case .reserved: "reserved"
    case .acpiReclaimable: "ACPI reclaimable"
    case .acpiNVS: "ACPI NVS"
    case .defective: "defective"
    }
  }

  /// Reads one line, echoing it; backspace edits. Sleeps until input arrives.
  static func readLine() -> String {
    var bytes: [UInt8] = []
    while true {
      // The count first: a byte arriving after the read moves it, and the wait returns.
      let seen = Serial.inputCount
      guard let byte = Serial.read() else {
        // Blocked, not halted: the shell's thread must not keep the CPU from the others
        // (domain threads run below it) while nobody types.
        _ = Serial.waitForInput(after: seen)
        continue
      }
      switch byte {
      case UInt8(ascii: "\r"), UInt8(ascii: "\n"):
        Console.write(UInt8(ascii: "\n"))
        return String(decoding: bytes, as: UTF8.self)
      case 0x08, 0x7F:
        if !bytes.isEmpty {
          bytes.removeLast()
          Console.write(TextLine(stringLiteral: "\u{8} \u{8}"))
        }
      case 0x20...0x7E:
        bytes.append(byte)
        Console.write(byte)
      default:
        break
      }
    }
  }

  /// `fault DOMAIN POINT [AFTER] [KIND]`: plans a fault, for tests that fail a domain in
  /// the middle of its work (FaultPlan): the AFTER-th time (default 1) DOMAIN passes its
  /// checkpoint POINT, the fault KIND (default `trap`) happens there.
  static func planFault(_ arguments: ArraySlice<Substring>) {
    let points = FaultPoint.allCases.map { "\($0.name)" }.joined(separator: ", ")
    let kinds = FaultKind.allCases.filter { $0.isRaisedAtCheckpoint }.map { "\($0.name)" }
      .joined(separator: ", ")
    guard (2...4).contains(arguments.count) else {
      Console.print("usage: fault DOMAIN POINT [AFTER] [KIND]; POINT is one of \(points)")
      return
    }
    let words = Array(arguments)
    guard let domain = DomainManager.lookup(String(words[0])) else {
      Console.print("fault: no domain '\(String(words[0]))' (see 'domains')")
      return
    }
    guard let point = FaultPoint.allCases.first(where: { "\($0.name)" == words[1] }) else {
      Console.print("fault: no point '\(String(words[1]))'; there are \(points)")
      return
    }
    var after = 1
    if words.count >= 3 {
      guard let count = Int(words[2]), count >= 1 else {
        Console.print("fault: AFTER must be a number from 1 up, not '\(String(words[2]))'")
        return
      }
      after = count
    }
    var kind = FaultKind.trap
    if words.count == 4 {
      guard let named = FaultKind.allCases.first(where: { "\($0.name)" == words[3] }),
        named.isRaisedAtCheckpoint
      else {
        Console.print("fault: no kind '\(String(words[3]))'; there are \(kinds)")
        return
      }
      guard PlannedFault.possible(named, at: point) else {
        Console.print("fault: \(point.name) cannot act out \(named.name)")
        return
      }
      kind = named
    }
    FaultPlan.arm(PlannedFault(domain: domain.id, kind: kind, point: point, interval: after))
    Console.print(
      "fault: \(domain.name) gets \(kind.name) at pass \(after) of \(point.name) from now")
  }
}
