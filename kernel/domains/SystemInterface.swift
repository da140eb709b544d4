/// The kernel's system interface: what a domain image may import, and the calls in it.
///
/// The table itself is boot/sysinterface.asm, so the linker resolves every address;
/// the loader binds a domain's undefined symbols through it and refuses any other
/// name (kernel/domains/DomainLoader.swift). The other side of the list is
/// domains/lib/SystemInterface.swift. Besides the kernel calls, the table has the C
/// library functions the Embedded Swift runtime needs, with allocation going to the
/// calling domain's private heap.
import ELF

@_extern(c, "system_interface_entries")
private func systemInterfaceEntries(_ table: UnsafeMutablePointer<UnsafePointer<UInt64>?>) -> UInt64

/// Binds imports through the table in boot/sysinterface.asm.
struct SystemInterface: SymbolResolver {
  /// The address of the kernel function a domain imports as `name`.
  func address(of name: String) -> UInt64? {
    var table: UnsafePointer<UInt64>?
    let count = Int(systemInterfaceEntries(&table))
    guard let table else { return nil }
    for index in 0..<count where matches(name, table[2 * index]) {
      return table[2 * index + 1]
    }
    return nil
  }

  private func matches(_ name: String, _ cString: UInt64) -> Bool {
    let bytes = UnsafePointer<UInt8>(bitPattern: UInt(cString))!
    var index = 0
    for byte in name.utf8 {
      if bytes[index] != byte { return false }
      index += 1
    }
    return bytes[index] == 0
  }
}

// MARK: - The calls

/// posix_memalign for domains: from the calling domain's private heap.
@_cdecl("swiftlet_domain_posix_memalign")
func domainPosixMemalign(
  _ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int
) -> Int32 {
  guard let domain = DomainManager.current,
    let memory = domain.allocate(size: size, alignment: alignment)
  else { return 12 }  // ENOMEM
  result.pointee = memory
  return 0
}

@_cdecl("swiftlet_domain_free")
func domainFree(_ pointer: UnsafeMutableRawPointer?) {
  guard let pointer, let domain = DomainManager.current else { return }
  domain.free(pointer)
}

/// The export slot of the domain that exports `interface`, if the caller may use it;
/// -1 otherwise.
@_cdecl("swiftlet_connect")
func swiftletConnect(_ name: UnsafePointer<UInt8>?, _ length: Int) -> Int64 {
  guard let name, length > 0, length < 64 else { return -1 }
  let interface = String(decoding: UnsafeBufferPointer(start: name, count: length), as: UTF8.self)
  return DomainManager.connect(interface, from: DomainCall.currentDomain).map { Int64($0) } ?? -1
}

/// Restarts the domain behind export slot `handle` if it has crashed; 0 if it runs.
@_cdecl("swiftlet_recover")
func swiftletRecover(_ handle: UInt64) -> Int32 {
  DomainManager.recover(slot: Int(truncatingIfNeeded: handle)) ? 0 : 1
}

/// A line from domain code, within the domain's rate limit (LogRateLimit): lines over it
/// are dropped, and the next line out says how many.
@_cdecl("swiftlet_log")
func swiftletLog(_ level: Int, _ text: UnsafePointer<UInt8>?, _ length: Int) {
  guard let text, length >= 0 else { return }
  let domain = DomainManager.current
  var line = TextLine()
  line.append("[\(domain?.name ?? "kernel")] ")
  for index in 0..<min(length, TextLine.capacity) { line.append(text[index]) }
  if let domain {
    let now = Clock.nanoseconds
    guard let dropped = withInterruptsDisabled({ domain.logLimit.admit(now: now) }) else {
      return
    }
    if dropped > 0 { Log.info("[\(domain.name)] \(dropped) lines suppressed") }
  }
  Log.info(line)
}

/// Starts a thread of the calling domain running entry(argument); its id, or -1.
@_cdecl("swiftlet_spawn")
func swiftletSpawn(_ entry: UInt64, _ argument: UInt64) -> Int32 {
  DomainManager.spawnThread(entry: entry, argument: argument)
}

/// Sleeping and yielding give the domain back for the while (DomainHolding).
@_cdecl("swiftlet_sleep_ns")
func swiftletSleep(_ nanoseconds: UInt64) {
  DomainHolding.away { Scheduler.sleep(nanoseconds: nanoseconds) }
}

@_cdecl("swiftlet_yield")
func swiftletYield() { DomainHolding.away { Scheduler.yield() } }

@_cdecl("swiftlet_domain_id")
func swiftletDomainID() -> UInt32 { UInt32(DomainCall.currentDomain.rawValue) }

@_cdecl("swiftlet_time_ns")
func swiftletTimeNanoseconds() -> UInt64 { Clock.nanoseconds }

/// The life of the domain that made the call the calling domain serves: its number in
/// the top 16 bits, its restart count below (SwiftletLib's DomainIdentity); 0 when the
/// kernel made it or no call is being served.
@_cdecl("swiftlet_caller")
func swiftletCaller() -> UInt64 {
  guard DomainCall.currentContinuation != 0 else { return 0 }
  let caller = DomainCall.innermostCaller
  guard let domain = DomainManager.domain(caller) else { return 0 }
  return UInt64(caller.rawValue) << 48 | UInt64(domain.restarts) & 0xFFFF_FFFF_FFFF
}

/// Whether the domain life `identity` (as swiftlet_caller gives it) runs: 1 or 0.
@_cdecl("swiftlet_domain_alive")
func swiftletDomainAlive(_ identity: UInt64) -> Int32 {
  let id = DomainID(rawValue: Int(identity >> 48))
  guard id != .kernel else { return 1 }
  return DomainManager.isAlive(id, life: Int(identity & 0xFFFF_FFFF_FFFF)) ? 1 : 0
}
