/// The kernel's view of cross-domain calls: the export table boot/domaincall.asm
/// calls through, and the current domain and continuation of the running thread.
///
/// A thread's current domain and innermost continuation live in two globals that
/// `swiftlet_call` updates without any call into Swift; the scheduler saves and loads
/// them with the rest of a thread's state (`Scheduler.switchTo`).

@_extern(c, "domain_call_state") private func domainCallState(_ which: UInt32)
  -> UnsafeMutableRawPointer

/// One row of the export table, as boot/domaincall.asm reads it: one method of one
/// exported interface (or a domain's init).
struct ExportRecord {
  var entry: UInt64
  var domain: UInt32
  var running: UInt32
  var calls: UInt64
  var padding: UInt64
}

/// The statuses the kernel gives a cross-domain call it ends or refuses
/// (boot/domaincall.asm; an entry point's own statuses are SwiftletLib's DomainCall).
enum CallStatus: UInt64 {
  case returned = 0
  case crashed = 1
  case stopped = 2
  case badHandle = 3
  case timedOut = 4
}

enum DomainCall {
  static let exportSlots = 256

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
  /// Where a call ended by the kernel resumes, with rsp at its continuation.
  static var crashedResumeAddress: UInt64 { UInt64(UInt(bitPattern: domainCallState(3))) }

  /// The domain the running code belongs to.
  static var currentDomain: DomainID {
    get { DomainID(rawValue: Int(domainWord.pointee)) }
    set { domainWord.pointee = UInt64(newValue.rawValue) }
  }

  /// The innermost call's continuation (0: no call in progress on this thread).
  static var currentContinuation: UInt64 {
    get { continuationWord.pointee }
    set { continuationWord.pointee = newValue }
  }

  /// The domain that made the innermost call into the current domain (the kernel if
  /// there is no call in progress): the first word of the innermost continuation
  /// (boot/domaincall.asm).
  static var innermostCaller: DomainID {
    let continuation = currentContinuation
    guard continuation != 0 else { return .kernel }
    let word = UnsafePointer<UInt64>(bitPattern: UInt(continuation))!.pointee
    return DomainID(rawValue: Int(word & 0xFFFF_FFFF))
  }

  /// Ends the innermost call as if it had returned `status`: the trap frame now
  /// resumes at its continuation (boot/domaincall.asm, swiftlet_call_crashed).
  static func unwindInnermostCall(_ frame: inout TrapFrame, status: CallStatus) {
    frame.rsp = currentContinuation
    frame.rip = crashedResumeAddress
    frame.rax = status.rawValue
  }
}
