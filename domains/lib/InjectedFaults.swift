/// The injected faults safe Swift can cause itself, acted out as a buggy domain would.
///
/// Each either traps or runs until the kernel ends the domain: none returns normally.

/// What the kinds of fault are. The numbers cross the kernel boundary
/// (swiftlet_fault, swiftlet_fault_checkpoint).
public enum FaultKind: Int, BitwiseCopyable, Sendable, CaseIterable {
  /// A Swift runtime trap (a failed precondition, an overflow, an index out of range).
  case trap = 1
  /// A read from an address no page maps.
  case wildRead = 2
  /// A write to an address no page maps.
  case wildWrite = 3
  /// A jump to an address no page maps.
  case wildJump = 4
  /// A read from a non-canonical address (#GP).
  case generalProtection = 5
  /// A division by zero in the CPU (#DE).
  case divideError = 6
  /// Recursion without end, into the guard page below the stack.
  case stackOverflow = 7
  /// A loop without end, interrupts on: the watchdog's to end.
  case infiniteLoop = 8
  /// Private-heap allocations until one fails.
  case heapExhaustion = 9
  /// Shared-heap allocations kept until the domain's quota refuses one.
  case sharedHeapHoarding = 10
  /// Simulated, where a point can act it out: a wrong answer given as a right one (a
  /// wrong value, a corrupt block or frame).
  case wrongResult = 11
  /// Simulated: a device completion the driver never sees.
  case lostCompletion = 12
  /// Simulated: a device completion with a bogus id or length.
  case bogusCompletion = 13
  /// Done by the kernel to the domain, with no checkpoint: one bit of its private heap
  /// flipped.
  case bitFlip = 14

  /// Whether the domain's own code acts it out (at a point that `simulates` it) rather
  /// than this library raising it.
  public var isSimulated: Bool {
    self == .wrongResult || self == .lostCompletion || self == .bogusCompletion
  }

  /// Whether a checkpoint raises it (every kind but the bit flip, which the kernel does).
  public var isRaisedAtCheckpoint: Bool { self != .bitFlip }

  /// Its name in the shell, the logs and the campaign's report.
  public var name: StaticString {
    switch self {
    case .trap: "trap"
    case .wildRead: "wild-read"
    case .wildWrite: "wild-write"
    case .wildJump: "wild-jump"
    case .generalProtection: "gp"
    case .divideError: "divide"
    case .stackOverflow: "stack-overflow"
    case .infiniteLoop: "loop"
    case .heapExhaustion: "heap-exhaustion"
    case .sharedHeapHoarding: "shared-hoarding"
    case .wrongResult: "wrong-result"
    case .lostCompletion: "lost-completion"
    case .bogusCompletion: "bogus-completion"
    case .bitFlip: "bit-flip"
    }
  }
}

/// The named points where a fault may be planned.
public enum FaultPoint: Int, BitwiseCopyable, Sendable, CaseIterable {
  /// In a domain's init, before its service exists (FaultInjection.domainStarting).
  case initialization = 5
  /// In a block driver, with a batch of requests submitted to the device and not all
  /// of them complete.
  case blockBatchInFlight = 1
  /// In a block driver, taking a request's completion from the device.
  case blockCompletion = 6
  /// In a NIC driver, taking received frames from the device, with empty buffers
  /// posted to it.
  case frameReceive = 2
  /// In a NIC driver, taking one received frame's completion from the device.
  case frameCompletion = 7
  /// In a NIC driver, with frames handed to the device and not all sent.
  case frameTransmit = 3
  /// In a NIC driver, taking a sent frame's completion from the device.
  case transmitCompletion = 8
  /// In the network stack, working through a batch of received frames.
  case stackInput = 4
  /// In the network stack, handing received datagrams to a socket.
  case socketDelivery = 9
  /// In the echo service, with datagrams taken and not yet answered.
  case echoReply = 10
  /// In a demo domain's method (hello, counter, crasher, client).
  case demoCall = 11
  /// In the counter, with its new total computed and not yet returned.
  case counterResult = 12

  /// Its name in the shell's `fault` command and the campaign's report.
  public var name: StaticString {
    switch self {
    case .initialization: "init"
    case .blockBatchInFlight: "block-batch"
    case .blockCompletion: "block-completion"
    case .frameReceive: "frame-receive"
    case .frameCompletion: "frame-completion"
    case .frameTransmit: "frame-transmit"
    case .transmitCompletion: "transmit-completion"
    case .stackInput: "stack-input"
    case .socketDelivery: "socket-delivery"
    case .echoReply: "echo-reply"
    case .demoCall: "demo-call"
    case .counterResult: "counter-result"
    }
  }

  /// The simulated kinds the code at this point acts out; the kernel plans no other
  /// simulated kind here.
  public var simulates: [FaultKind] {
    switch self {
    case .blockCompletion: [.wrongResult, .lostCompletion, .bogusCompletion]
    case .frameCompletion: [.wrongResult, .bogusCompletion]
    case .transmitCompletion: [.lostCompletion]
    case .counterResult: [.wrongResult]
    default: []
    }
  }
}

enum InjectedFaults {
  static func overflowTheStack() { _ = descend(1) }

  /// Recursion with no end the optimizer can see.
  private static func descend(_ depth: Int) -> Int {
    if depth == Int.min { return 0 }
    var frame = InlineArray<32, Int>(repeating: depth)
    frame[depth & 31] = descend(depth &+ 1)
    return frame[0] &+ frame[depth & 31]
  }

  /// Allocates until the private heap says no, which traps in the runtime.
  static func exhaustTheHeap() {
    var kept: [[UInt8]] = []
    while true {
      kept.append([UInt8](repeating: UInt8(truncatingIfNeeded: kept.count), count: 4096))
    }
  }

  /// Keeps shared-heap buffers until the domain's quota refuses one; a domain bug that
  /// then gives up traps.
  static func hoardTheSharedHeap() {
    var kept: HoardedBuffer? = nil
    var count = 0
    while let buffer = RRef(InlineArray<1024, UInt8>(repeating: 0xA5)) {
      kept = HoardedBuffer(buffer, next: kept)
      count += 1
    }
    preconditionFailure("the shared heap refused after \(count) blocks")
  }
}

/// Shared-heap buffers a hoarding domain keeps, in a chain (an array cannot hold
/// noncopyable RRefs).
public final class HoardedBuffer {
  public let buffer: RRef<InlineArray<1024, UInt8>>
  public let next: HoardedBuffer?

  public init(_ buffer: consuming RRef<InlineArray<1024, UInt8>>, next: HoardedBuffer?) {
    self.buffer = buffer
    self.next = next
  }
}
