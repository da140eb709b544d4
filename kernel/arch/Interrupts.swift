/// Interrupt vectors, handlers and routing: which device interrupt runs what.
///
/// Vectors 0-31 are CPU exceptions (arch/TrapFrame.swift). Above them:
///   0x20        the local APIC timer (the kernel tick)
///   0x30-0x3F   ISA IRQ lines 0-15, through the I/O APIC (PCI INTx among them)
///   0x40-0xDF   PCI MSI-X, one vector per device (kernel/devices)
///   0xE0-0xEF   the silenced 8259 PICs (spurious only)
///   0xF0        free for tests (self-interrupts)
///   0xFF        the local APIC's spurious vector
/// Handlers run on the interrupted thread's stack with interrupts disabled, must not
/// block, and should be short; the end-of-interrupt is sent after the handler returns.
/// When that stack is nearly full they run on the interrupt stack instead, and the
/// scheduler does not switch threads at their end (boot/traps.asm).
typealias InterruptHandler = (inout TrapFrame) -> Void

enum Interrupts {
  static let timerVector = 0x20
  static let irqBase = 0x30
  static let deviceVectors = 0x40..<0xE0
  static let testVector = 0xF0
  static let spuriousVector = 0xFF

  nonisolated(unsafe) private static var handlers: [InterruptHandler?] = []
  /// Interrupts taken per vector, for the shell and tests.
  nonisolated(unsafe) private(set) static var counts: [UInt64] = []
  nonisolated(unsafe) private(set) static var unexpected: UInt64 = 0
  nonisolated(unsafe) private static var nextDeviceVector = deviceVectors.lowerBound
  /// Runs at the end of every interrupt taken on its thread's stack, after the
  /// end-of-interrupt: where the scheduler preempts.
  nonisolated(unsafe) static var afterInterrupt: () -> Void = {}
  /// The interrupt stack (IST1) that traps stay on when the thread's stack is too full.
  nonisolated(unsafe) private static var interruptStack: Range<UInt64> = 0..<0
  private static let interruptStackSize: UInt64 = 16 * 1024

  /// Silences the PICs and brings up the local and I/O APICs. Interrupts stay disabled.
  static func setUp() {
    handlers = Array(repeating: nil, count: InterruptTable.vectorCount)
    let stack = LinkerAddress.interruptStack1.value
    interruptStack = stack..<stack + interruptStackSize
    counts = Array(repeating: 0, count: InterruptTable.vectorCount)
    LegacyPIC.disable()
    LocalAPIC.enable()
    IOAPIC.initialize()
  }

  /// Runs `handler` for every interrupt at `vector` (32-254).
  static func register(vector: Int, _ handler: @escaping InterruptHandler) {
    precondition(vector >= 32 && vector < spuriousVector, "not an interrupt vector")
    handlers[vector] = handler
  }

  /// Routes ISA IRQ `irq` to this CPU at `irqBase + irq` and runs `handler` for it.
  /// ISA lines are edge-triggered; PCI INTx lines are `levelTriggered`.
  static func enableIRQ(
    _ irq: Int, levelTriggered: Bool = false, _ handler: @escaping InterruptHandler
  ) {
    register(vector: irqBase + irq, handler)
    IOAPIC.route(
      input: irq, vector: irqBase + irq, apicID: LocalAPIC.apicID, levelTriggered: levelTriggered)
  }

  /// A vector of its own for a device's message-signalled interrupts; nil when all of
  /// `deviceVectors` are taken. Vectors are not given back: a device keeps its one.
  static func allocateDeviceVector() -> Int? {
    guard nextDeviceVector < deviceVectors.upperBound else { return nil }
    defer { nextDeviceVector += 1 }
    return nextDeviceVector
  }

  /// Called by trapDispatch for vectors 32 and up.
  static func dispatch(_ frame: inout TrapFrame) {
    Scheduler.idleEnds()
    let vector = Int(frame.vector)
    counts[vector] &+= 1
    if vector == spuriousVector
      || vector >= LegacyPIC.vectorBase && vector < LegacyPIC.vectorBase + 16
    {
      return  // spurious: no end-of-interrupt
    }
    if let handler = handlers[vector] {
      handler(&frame)
    } else {
      unexpected &+= 1
    }
    LocalAPIC.endOfInterrupt()
    // A frame on the interrupt stack must be returned from before the next trap reuses
    // that stack: no switching away from it. A requested preemption waits for the next
    // interrupt taken on the thread's stack, or the thread's next yield or block.
    guard !isOnInterruptStack(&frame) else {
      if vector == timerVector { DomainManager.unpreemptibleTick(&frame) }
      return
    }
    Scheduler.currentControl?.pointee.unpreemptibleTicks = 0
    afterInterrupt()
    // Running again (perhaps after other threads ran): if the domain this thread was
    // interrupted in died meanwhile, it does not go back into it.
    DomainManager.unwindInterrupted(&frame)
  }

  /// Whether `frame` is on the interrupt stack rather than its thread's.
  @inline(__always)
  static func isOnInterruptStack(_ frame: inout TrapFrame) -> Bool {
    interruptStack.contains(withUnsafeMutablePointer(to: &frame) { UInt64(UInt(bitPattern: $0)) })
  }
}
