/// The kernel's view of cross-domain calls: the export table boot/domaincall.asm calls
/// through, who holds each domain, and the running thread's current domain and chain of
/// continuations.
///
/// A thread's current domain and innermost continuation live in two globals that
/// `swiftlet_call` updates without any call into Swift; the scheduler saves and loads
/// them with the rest of a thread's state (`Scheduler.switchTo`). The layouts are
/// scripts/callabi.py's (build/generated/abi/CallABI.swift), checked at boot.
import SwiftletLib

@_extern(c, "domain_call_state") private func domainCallState(_ which: UInt32)
  -> UnsafeMutableRawPointer

enum DomainCall {
  static let exportSlots = CallABI.exportSlots

  // Computed, not stored: interrupt handlers use these, and a lazily initialized global
  // that an interrupt reaches mid-initialization deadlocks (kernel/Main.swift).
  static var exports: UnsafeMutablePointer<ExportRecord> {
    domainCallState(0).assumingMemoryBound(to: ExportRecord.self)
  }
  private static var domainWord: UnsafeMutablePointer<UInt64> {
    domainCallState(1).assumingMemoryBound(to: UInt64.self)
  }
  private static var continuationWord: UnsafeMutablePointer<UInt64> {
    domainCallState(2).assumingMemoryBound(to: UInt64.self)
  }
  /// Each domain's holder: the control block of the thread running its code, 0 if none.
  static var holders: UnsafeMutablePointer<UInt64> {
    domainCallState(4).assumingMemoryBound(to: UInt64.self)
  }
  /// How many threads wait in the kernel to hold each domain.
  static var waiters: UnsafeMutablePointer<UInt32> {
    domainCallState(5).assumingMemoryBound(to: UInt32.self)
  }
  /// Timer ticks since boot, as continuations record a call's start.
  static var ticks: UInt64 {
    get { domainCallState(6).assumingMemoryBound(to: UInt64.self).pointee }
    set { domainCallState(6).assumingMemoryBound(to: UInt64.self).pointee = newValue }
  }
  /// Where a call ended by the kernel resumes, with rsp at its continuation.
  static var crashedResumeAddress: UInt64 { address(3) }
  /// Where a callee returning into a dead caller lands instead (boot/domaincall.asm).
  static func unwoundAddress(_ status: CallStatus) -> UInt64 {
    address(status == .timedOut ? 8 : 7)
  }
  /// The kernel address at which a domain out of stack crashes (check_stack_room).
  static var stackExhaustedAddress: UInt64 { address(9) }

  /// Whether `address` is in the call gate (boot/domaincall.asm: `swiftlet_call`, its
  /// way back and the unwinds), where a thread is between two domains.
  static func isCallGate(_ address: UInt64) -> Bool {
    address >= self.address(11) && address < self.address(12)
  }

  /// The running thread's control block as the assembly sees it (boot/traps.asm):
  /// the scheduler points it at the boot thread's once it has one.
  static var runningStack: UnsafeMutablePointer<UInt64> {
    domainCallState(10).assumingMemoryBound(to: UInt64.self)
  }

  private static func address(_ which: UInt32) -> UInt64 {
    UInt64(UInt(bitPattern: domainCallState(which)))
  }

  /// The domain the running code belongs to.
  static var currentDomain: DomainID {
    get { DomainID(rawValue: Int(domainWord.pointee & 0xFFFF_FFFF)) }
    set { domainWord.pointee = UInt64(newValue.rawValue) }
  }

  /// The innermost call's continuation (0: no call in progress on this thread).
  static var currentContinuation: UInt64 {
    get { continuationWord.pointee }
    set { continuationWord.pointee = newValue }
  }

  /// The domain that made the innermost call into the current domain (the kernel if
  /// there is no call in progress).
  static var innermostCaller: DomainID {
    let continuation = currentContinuation
    return continuation == 0 ? .kernel : Continuation(continuation).caller
  }

  /// Ends the innermost call as if it had returned `status`: the trap frame now
  /// resumes at its continuation (boot/domaincall.asm, swiftlet_call_crashed).
  static func unwindInnermostCall(_ frame: inout TrapFrame, status: CallStatus) {
    frame.rsp = currentContinuation
    frame.rip = crashedResumeAddress
    frame.rax = status.rawValue
  }

  /// Checks that Swift lays the boundary's structures out as the assembly reads them:
  /// a mismatch would be memory corruption at every call.
  static func checkLayouts() {
    let record = UnsafeMutablePointer<ExportRecord>.allocate(capacity: 1)
    defer { record.deallocate() }
    let actual = [
      offset(record, &record.pointee.entry), offset(record, &record.pointee.domain),
      offset(record, &record.pointee.running), offset(record, &record.pointee.calls),
      offset(record, &record.pointee.spare),
    ]
    for (index, (name, expected)) in ExportRecord.assemblyOffsets.enumerated()
    where actual[index] != expected {
      panic("call ABI: ExportRecord.\(name) is at \(actual[index]), not \(expected)")
    }
    if MemoryLayout<ExportRecord>.stride != CallABI.exportRecordSize {
      panic("call ABI: ExportRecord is not \(CallABI.exportRecordSize) bytes")
    }
    let control = Scheduler.currentControl!
    let fields = [
      (
        "stackBottom", offset(control, &control.pointee.stackBottom),
        CallABI.ThreadControlOffset.stackBottom
      ),
      (
        "unwindStatus", offset(control, &control.pointee.unwindStatus),
        CallABI.ThreadControlOffset.unwindStatus
      ),
    ]
    for (name, actual, expected) in fields where actual != expected {
      panic("call ABI: ThreadControl.\(name) is at \(actual), not \(expected)")
    }
  }

  private static func offset<Base, Field>(
    _ base: UnsafeMutablePointer<Base>, _ field: UnsafeMutablePointer<Field>
  ) -> Int {
    UnsafeMutableRawPointer(field) - UnsafeMutableRawPointer(base)
  }
}

/// One continuation on a thread's stack, as boot/domaincall.asm pushed it: who called,
/// the enclosing continuation, when the call began, and where it returns.
struct Continuation {
  let address: UInt64

  init(_ address: UInt64) { self.address = address }

  private func word(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
    UnsafeMutablePointer<UInt64>(bitPattern: UInt(address) + UInt(offset))!
  }

  /// The domain that made the call.
  var caller: DomainID {
    DomainID(rawValue: Int(word(CallABI.Continuation.callerDomain).pointee & 0xFFFF_FFFF))
  }
  /// The continuation of the call the caller was in (0 at the bottom of the chain).
  var enclosing: UInt64 { word(CallABI.Continuation.enclosing).pointee }
  /// The kernel tick at which the call began.
  var entryTick: UInt64 { word(CallABI.Continuation.entryTick).pointee }
  /// Where the call returns to in its caller.
  var returnAddress: UInt64 {
    get { word(CallABI.Continuation.returnAddress).pointee }
    nonmutating set { word(CallABI.Continuation.returnAddress).pointee = newValue }
  }

  /// Every call on a thread, innermost first, with the domain each one called: the
  /// innermost called `current` (the thread's current domain), each outer one called
  /// the caller of the one inside it.
  static func forEach(
    from innermost: UInt64, current: DomainID, _ body: (Continuation, DomainID) -> Void
  ) {
    var address = innermost
    var callee = current
    while address != 0 {
      let continuation = Continuation(address)
      body(continuation, callee)
      callee = continuation.caller
      address = continuation.enclosing
    }
  }
}
