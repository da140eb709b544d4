/// One thread at a time in a domain: the kernel's half of the holder words that
/// boot/domaincall.asm takes and gives back on every call.
///
/// A domain's code and state are Swift's non-Sendable world: only one thread may run
/// them at once, as only one task runs an actor. A thread holds the domain it runs in;
/// it gives it back while it is away in a call to another domain, and while it sleeps
/// or yields (the domain's own code is at a resting point then, as an actor is at an
/// `await`). A thread waiting for its device inside a driver keeps the driver: its
/// request is half done. The SIL exclusivity rule (docs/SECURITY.md) makes sure no
/// domain code holds an access to its own state across any of these points.
///
/// The fast paths are in the assembly; the waits are here, entered with interrupts
/// disabled. A wait gives up when the domain it waits for dies, or when the domain the
/// thread is coming from dies (the thread is then unwound instead: DomainManager).
/// A domain given back while threads wait goes to the one that has waited longest,
/// directly: a thread that gives it back and asks again at once (a caller looping on a
/// driver) would otherwise take it every time and starve the others.
import SwiftletLib

enum DomainHolding {
  /// The running thread, as holder words name it.
  private static var me: UInt64 {
    UInt64(UInt(bitPattern: Scheduler.currentControl!))
  }

  /// Takes `id` for the running thread, waiting while another thread runs it.
  /// `entered`, or why not: `callerDied` if the running thread must unwind out of the
  /// domain it came from, else the status of a call that could not enter: `stopped`
  /// if the domain died (or was replaced by a new life) meanwhile, `timedOut` if it
  /// was ended for hogging itself past its budget while this thread waited.
  ///
  /// A wait to enter is timed like the call it begins (`entering` is set): a domain
  /// whose own thread never lets go of it is hung as far as its callers can tell.
  static func take(_ id: DomainID, life: Int?, entering: Bool = false) -> UInt64 {
    withInterruptsDisabled {
      guard let domain = DomainManager.domain(id) else { return CallStatus.stopped.rawValue }
      let control = Scheduler.currentControl!
      let index = id.rawValue
      let crashes = domain.crashes
      defer { control.pointee.entering = .kernel }
      while true {
        // Handed over while waiting (`handOver`), the thread holds it already: it gives
        // it on if it must leave instead.
        let handed = DomainCall.holders[index] == me
        if control.pointee.unwindStatus != 0 {
          if handed { release(id) }
          return CallABI.Wait.callerDied
        }
        guard domain.isLive, life == nil || domain.restarts == life else {
          if handed { release(id) }
          let timedOut = domain.crashes != crashes && domain.lastCrashTimedOut
          return (timedOut ? CallStatus.timedOut : CallStatus.stopped).rawValue
        }
        if handed || DomainCall.holders[index] == 0 {
          DomainCall.holders[index] = me
          return CallABI.Wait.entered
        }
        if entering && control.pointee.entering == .kernel {
          control.pointee.entering = id
          control.pointee.enteringSince = DomainCall.ticks
        }
        DomainCall.waiters[index] += 1
        domain.holderQueue.wait()
        DomainCall.waiters[index] -= 1
      }
    }
  }

  /// Gives `id` back if the running thread holds it: to the thread waiting longest.
  static func release(_ id: DomainID) {
    withInterruptsDisabled {
      guard id != .kernel, DomainCall.holders[id.rawValue] == me else { return }
      DomainCall.holders[id.rawValue] = 0
      if DomainCall.waiters[id.rawValue] != 0 { handOver(id) }
    }
  }

  /// `id` was just given back (its holder word is 0) while threads wait: the first of
  /// them holds it now, and runs when the scheduler gets to it.
  static func handOver(_ id: DomainID) {
    withInterruptsDisabled {
      guard DomainCall.holders[id.rawValue] == 0,
        let next = DomainManager.domain(id)?.holderQueue.wakeFirst()
      else { return }
      DomainCall.holders[id.rawValue] = UInt64(UInt(bitPattern: next))
    }
  }

  /// A domain died or starts a new life: nobody holds it, and its waiters look again.
  static func reset(_ id: DomainID) {
    withInterruptsDisabled {
      DomainCall.holders[id.rawValue] = 0
      DomainManager.domain(id)?.holderQueue.wakeAll()
    }
  }

  /// Runs `body` (a sleep or a yield of domain code) with the current domain given
  /// back; afterwards the thread holds it again, or, if it died meanwhile, is marked to
  /// unwind out of it when the kernel call returns (boot/sysinterface.asm).
  static func away(_ body: () -> Void) {
    let id = DomainCall.currentDomain
    guard id != .kernel else { return body() }
    release(id)
    body()
    if take(id, life: nil) != CallABI.Wait.entered {
      withInterruptsDisabled {
        let control = Scheduler.currentControl!
        if control.pointee.unwindStatus == 0 {
          control.pointee.unwindStatus = CallStatus.crashed.rawValue
        }
      }
    }
  }
}

// MARK: - The waits boot/domaincall.asm calls, interrupts disabled

/// The callee `id` is held by another thread: wait to enter it.
@_cdecl("domain_enter_wait")
func domainEnterWait(_ id: UInt32) -> UInt64 {
  let status = DomainHolding.take(DomainID(rawValue: Int(id)), life: nil, entering: true)
  if status == CallABI.Wait.callerDied { Scheduler.currentControl!.pointee.unwindStatus = 0 }
  return status
}

/// Coming back into the caller `id`, which another thread holds now: wait for it.
@_cdecl("domain_reenter_wait")
func domainReenterWait(_ id: UInt32) -> UInt64 {
  let status = DomainHolding.take(DomainID(rawValue: Int(id)), life: nil)
  if status != CallABI.Wait.entered { Scheduler.currentControl!.pointee.unwindStatus = 0 }
  return status
}

/// A domain was given back while threads wait for it.
@_cdecl("domain_release_wake")
func domainReleaseWake(_ id: UInt32) {
  DomainHolding.handOver(DomainID(rawValue: Int(id)))
}
