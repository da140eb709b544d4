/// The domain manager: creates domains from their images, finds them, ends them when
/// they crash, and starts them again.
///
/// The crash path (DESIGN.md): an exception or a watchdog timeout while a domain runs
/// comes here with the trap frame. The domain is marked crashed, its export slots are
/// stopped and its private heap is dropped; then, if the thread is inside a call into
/// the domain, the frame is pointed at the call's continuation so the caller gets an
/// error back (boot/domaincall.asm). Nothing else in the kernel notices.
import BootInfo
import Memory
import SwiftletLib

enum DomainManager {
  nonisolated(unsafe) private(set) static var domains: [Domain] = []
  /// The interface each export slot serves, and the domain that serves it there (by
  /// name: a restarted domain gets its slots back). Two drivers of different devices may
  /// serve one interface, each in slots of its own.
  nonisolated(unsafe) private static var slotInterfaces: [String] = []
  nonisolated(unsafe) private static var slotExporters: [String] = []

  /// Initializes the tables before any interrupt can reach them (kernel/Main.swift).
  static func prepareForInterrupts() {
    _ = domains.count
    _ = slotInterfaces.count
    _ = slotExporters.count
  }

  /// The domain the running code belongs to; nil for the kernel.
  static var current: Domain? { domain(DomainCall.currentDomain) }

  static func domain(_ id: DomainID) -> Domain? {
    let index = id.rawValue - 1
    return index >= 0 && index < domains.count ? domains[index] : nil
  }

  static func lookup(_ name: String) -> Domain? { domains.first { $0.name == name } }

  // MARK: - Creating

  /// Creates a domain from every boot module, named by its file name ("hello.so" is
  /// domain "hello"). A module that fails to load is reported; the others still load.
  static func loadBootModules(_ boot: BootInfo) {
    defer { bootDomainsLoaded.signal() }
    _ = Scheduler.spawn("domain supervisor") { superviseUncalled() }
    for module in boot.modules {
      let name = moduleName(module.commandLine)
      let image = UnsafeRawBufferPointer(
        start: UnsafeRawPointer(bitPattern: UInt(module.start)),
        count: Int(module.end - module.start))
      switch create(name: name, image: image) {
      case .success(let domain):
        Log.info(
          "domain '\(name)': running, \(domain.loadedFrames * 4) KiB image at \(hex: domain.loadedAt?.address ?? 0), \(domain.manifest.heapKiB) KiB heap, exports \(domain.manifest.exports.joined(separator: ", "))"
        )
      case .failure(let error):
        Log.error("domain '\(name)': not loaded: \(error.message)")
      }
    }
  }

  /// Signalled once every boot module is loaded. A domain's own threads start only then
  /// (`spawnThread`): a thread its init starts connects to the interfaces it imports,
  /// and must find every boot domain that exports one (the network stack asks for the
  /// NIC driver whose device is attached, and drivers load in any order).
  nonisolated(unsafe) private static let bootDomainsLoaded = InterruptEvent()

  /// "build/domains/hello.so" or "hello" -> "hello".
  static func moduleName(_ commandLine: String) -> String {
    let word = commandLine.split(separator: " ").first.map { String($0) } ?? ""
    var name = word.split(separator: "/").last.map { String($0) } ?? word
    if name.hasSuffix(".so") { name.removeLast(3) }
    return name
  }

  static func create(name: String, image: UnsafeRawBufferPointer) -> Result<Domain, DomainError> {
    if lookup(name) != nil {
      return .failure(DomainError(message: "a domain named '\(name)' exists"))
    }
    // Registered before it starts: its init runs as the domain, allocating from its heap.
    guard domains.count + 1 < CallABI.maxDomains else {
      return .failure(DomainError(message: "all \(CallABI.maxDomains - 1) domains are in use"))
    }
    let domain = Domain(id: DomainID(rawValue: domains.count + 1), name: name, image: image)
    domains.append(domain)
    do throws(DomainError) {
      try start(domain)
    } catch {
      domains.removeLast()
      return .failure(error)
    }
    return .success(domain)
  }

  /// Loads the image and keeps its pristine copy, reads its manifest, gives it a heap
  /// and its export slots, and runs its init. If any step fails, nothing of it is left.
  private static func start(_ domain: Domain) throws(DomainError) {
    domain.loaded = try DomainLoader.load(domain.image)
    do throws(DomainError) {
      // Before anything runs in the image: the manifest and entry table functions are
      // its code too.
      try DomainLoader.keepPristine(&domain.loaded!)
      try configure(domain)
      try runInit(domain)
    } catch {
      stop(domain)
      releaseImage(domain)
      throw error
    }
  }

  /// Starts the domain again in the frames it lies in, from its pristine copy, with what
  /// `configure` found at the first start: its manifest, entry points and slots are
  /// those of the same bytes at the same addresses. On failure the image stays, for the
  /// next try.
  private static func startFromPristine(_ domain: Domain) throws(DomainError) {
    guard let loaded = domain.loaded else { return try start(domain) }
    DomainLoader.restore(loaded)
    do throws(DomainError) {
      try giveHeap(domain)
      for (_, slot) in domain.exportSlots { DomainCall.exports[slot].calls = 0 }
      DomainCall.exports[domain.controlSlot].running = 1
      try runInit(domain)
    } catch {
      stop(domain)
      throw error
    }
  }

  /// Runs the domain's init inside a call, so a crash in init is contained too, and
  /// opens its export slots once it has returned.
  private static func runInit(_ domain: Domain) throws(DomainError) {
    DomainHolding.reset(domain.id)
    domain.state = .starting
    let status = callControl(domain)
    guard status == 0 else {
      throw DomainError(message: "its init crashed (status \(status))")
    }
    for (_, slot) in domain.exportSlots { DomainCall.exports[slot].running = 1 }
    domain.state = .running
    domain.backoff.running(at: Clock.nanoseconds)
  }

  /// A private heap of the size its manifest asks for.
  private static func giveHeap(_ domain: Domain) throws(DomainError) {
    let heapFrames = domain.manifest.heapKiB / 4
    guard let heap = Frames.allocateContiguous(count: heapFrames) else {
      throw DomainError(message: "no memory for a \(domain.manifest.heapKiB) KiB heap")
    }
    domain.setHeap(heap, count: heapFrames)
  }

  /// Reads the image's manifest and entry points and fills its export slots. Every
  /// address the image gives is checked first: its functions must lie in its own code
  /// (a domain's entry table naming kernel code would have the kernel run it as the
  /// domain), its manifest text in its own image, and its entry points must be exactly
  /// as many as its manifest's methods.
  private static func configure(_ domain: Domain) throws(DomainError) {
    guard let loaded = domain.loaded else { return }
    let code = loaded.code
    let image = loaded.addresses
    func symbol(_ name: String) throws(DomainError) -> UInt64 {
      guard let address = loaded.address(of: name) else {
        throw DomainError(message: "the image has no \(name): not built as a Swiftlet domain")
      }
      guard code.contains(address) else {
        throw DomainError(
          message: "its \(name) is not in its code (0x\(String(address, radix: 16)))")
      }
      return address
    }
    let manifestFunction = unsafeBitCast(
      try symbol("swiftlet_domain_manifest"), to: (@convention(c) () -> UnsafePointer<UInt8>).self)
    domain.manifest = DomainManifestInfo(
      parsing: try readString(manifestFunction(), within: image, limit: 2048))
    guard domain.manifest.name == domain.name else {
      throw DomainError(message: "the image says it is '\(domain.manifest.name)'")
    }
    if let problem = domain.manifest.problem { throw DomainError(message: problem) }
    // The image is loaded already (its manifest is in it); with the heap it must fit the
    // frames quota, with room left for a thread's stack if it may have threads.
    let heapFrames = domain.manifest.heapKiB / 4
    let needed = domain.loadedFrames + heapFrames
    guard needed <= domain.manifest.frames else {
      throw DomainError(
        message:
          "it needs \(needed) frames (image \(domain.loadedFrames), heap \(heapFrames)), over its quota of \(domain.manifest.frames)"
      )
    }
    try giveHeap(domain)
    let entries = try entryPoints(domain, try symbol("swiftlet_domain_entries"))
    if let stray = entries.first(where: { !code.contains($0) }) {
      throw DomainError(
        message: "an entry point it gives is not in its code (0x\(String(stray, radix: 16)))")
    }
    var slots: [(interface: String, slot: Int)] = []
    for interface in domain.manifest.exports {
      if let owner = domains.first(where: {
        $0 !== domain && $0.isLive && $0.manifest.exports.contains(interface)
      }), !servesOtherDevices(domain, owner) {
        throw DomainError(message: "'\(interface)' is exported by '\(owner.name)' already")
      }
      // One slot per method, in the interface's order: a handle is the first one.
      let count = domain.manifest.methods(of: interface).count
      let first = try slotsFor(interface, exporter: domain.name, count: count)
      for index in 0..<count {
        DomainCall.exports[first + index] = ExportRecord(
          entry: entries[slots.count], domain: UInt32(domain.id.rawValue), running: 0, calls: 0,
          spare: 0)
        slots.append((interface: interface, slot: first + index))
      }
    }
    domain.exportSlots = slots
    let initEntry = try symbol("swiftlet_domain_init")
    domain.controlSlot = try slotsFor("\(domain.name)#init", exporter: domain.name, count: 1)
    DomainCall.exports[domain.controlSlot] = ExportRecord(
      entry: initEntry, domain: UInt32(domain.id.rawValue), running: 1, calls: 0, spare: 0)
  }

  /// Every method's entry point, as the image's `swiftlet_domain_entries` lists them:
  /// by export, then by method, in the manifest's order.
  private static func entryPoints(_ domain: Domain, _ function: UInt64) throws(DomainError)
    -> [UInt64]
  {
    let count = domain.manifest.exports.reduce(0) { $0 + domain.manifest.methods(of: $1).count }
    let fill = unsafeBitCast(
      function, to: (@convention(c) (UnsafeMutablePointer<UInt64>, Int) -> Int).self)
    var entries = [UInt64](repeating: 0, count: count)
    let written = entries.withUnsafeMutableBufferPointer { fill($0.baseAddress!, count) }
    guard written == count else {
      throw DomainError(
        message: "the image's entry points do not match its manifest's \(count) methods")
    }
    return entries
  }

  /// The first of `count` consecutive slots for `interface`: the ones it had before
  /// (a restarted domain gets its slots back), or new ones. An interface without
  /// methods still gets a slot, so it can be connected to.
  /// Whether `domain` and `other` are drivers of different devices (which may export
  /// the same interface, as the generator's manifest check allows).
  private static func servesOtherDevices(_ domain: Domain, _ other: Domain) -> Bool {
    guard let mine = DeviceIdentity.parse(domain.manifest.device),
      let theirs = DeviceIdentity.parse(other.manifest.device)
    else { return false }
    return mine.vendor != theirs.vendor
      || !mine.deviceIDs.contains { theirs.deviceIDs.contains($0) }
  }

  private static func slotsFor(
    _ interface: String, exporter: String, count: Int
  ) throws(DomainError) -> Int {
    if let first = slotInterfaces.indices.first(where: {
      slotInterfaces[$0] == interface && slotExporters[$0] == exporter
    }) {
      let had = slotInterfaces.indices[first...].prefix {
        slotInterfaces[$0] == interface && slotExporters[$0] == exporter
      }.count
      guard had == max(count, 1) else {
        throw DomainError(message: "'\(interface)' has \(count) methods here, \(had) before")
      }
      return first
    }
    guard slotInterfaces.count + max(count, 1) <= DomainCall.exportSlots else {
      throw DomainError(message: "all \(DomainCall.exportSlots) export slots are taken")
    }
    slotInterfaces.append(contentsOf: repeatElement(interface, count: max(count, 1)))
    slotExporters.append(contentsOf: repeatElement(exporter, count: max(count, 1)))
    return slotInterfaces.count - max(count, 1)
  }

  /// Runs the domain's init as a call into it. (SwiftletLib's declaration of
  /// swiftlet_call is the kernel's only one: two Swift declarations of one C symbol in a
  /// module can disagree on the calling convention once the proxies are inlined here.)
  private static func callControl(_ domain: Domain) -> UInt64 {
    kernelCall(UInt64(domain.controlSlot), nil, nil)
  }

  /// The NUL-terminated text at `text`, which must lie in `image` and end within `limit`.
  private static func readString(
    _ text: UnsafePointer<UInt8>, within image: Range<UInt64>, limit: Int
  ) throws(DomainError) -> String {
    let start = UInt64(UInt(bitPattern: text))
    var bytes: [UInt8] = []
    for index in 0..<limit {
      guard image.contains(start + UInt64(index)) else {
        throw DomainError(
          message: "its manifest text is not in its image (0x\(String(start, radix: 16)))")
      }
      if text[index] == 0 { return String(decoding: bytes, as: UTF8.self) }
      bytes.append(text[index])
    }
    throw DomainError(message: "its manifest text is longer than \(limit) bytes")
  }

  // MARK: - Ending and restarting

  /// Stops the domain's slots and gives back its heap and shared-heap allocations; its
  /// image and pristine copy stay.
  private static func stop(_ domain: Domain) {
    DeviceManager.revoke(owner: domain.id)  // no DMA into what is freed next
    DomainHolding.reset(domain.id)
    SharedMemory.reclaim(domain.id)
    for (_, slot) in domain.exportSlots { DomainCall.exports[slot].running = 0 }
    if domain.controlSlot >= 0 { DomainCall.exports[domain.controlSlot].running = 0 }
    domain.dropHeap()
  }

  /// Gives back the frames of its image and of its pristine copy.
  private static func releaseImage(_ domain: Domain) {
    if let loaded = domain.loaded { DomainLoader.unload(loaded) }
    domain.loaded = nil
  }

  static func destroy(_ domain: Domain) {
    if domain.isLive { unwindThreads(in: domain.id, status: .stopped) }
    stop(domain)
    releaseImage(domain)
    DomainDevices.release(domain)  // its device is free for another owner
    domain.state = .destroyed
  }

  /// The kernel's restart, at once whatever the domain's state: it clears a failed
  /// domain and any backoff (`recover`, the callers' restart, waits for the backoff and
  /// leaves a failed domain alone). A running domain's callers that are not inside it
  /// then never learn of it: their next call reaches the new life as if nothing
  /// happened, so state they keep about the old one (the stack's count of buffers posted
  /// in its NIC driver) goes stale. Where callers keep such state, `crash` it instead and
  /// let them restart it.
  static func restart(_ domain: Domain) -> Result<Void, DomainError> {
    // A start already under way (a caller's recover) finishes first: a second one now
    // would tear the image down under the init that runs in it.
    var wasLive = false
    while !claimStart(domain, when: { _ in true }, wasLive: &wasLive) {
      Scheduler.sleep(nanoseconds: 1_000_000)
    }
    domain.backoff.clear()
    return restartNow(domain, wasLive: wasLive)
  }

  /// Makes the calling thread the one that starts the domain, if it is not starting
  /// already and `condition` holds for its state: both checked and the state set to
  /// `.starting` with interrupts off, so that of two threads finding it crashed at
  /// once (two callers recovering it), one restarts it and the other finds it starting.
  /// `wasLive` says whether it was running (or starting) before.
  private static func claimStart(
    _ domain: Domain, when condition: (Domain) -> Bool, wasLive: inout Bool
  ) -> Bool {
    withInterruptsDisabled {
      guard domain.state != .starting, condition(domain) else { return false }
      wasLive = domain.isLive
      domain.state = .starting
      return true
    }
  }

  /// Creates the domain again, fresh state, same slots: from its pristine copy, or, once
  /// destroyed, from its image, loaded and checked as at first. A start that fails
  /// counts as a crash in init (RestartBackoff). The caller has claimed the start
  /// (`claimStart`): the domain is `.starting`, and a second restart asked for until its
  /// init returns finds it so.
  private static func restartNow(_ domain: Domain, wasLive: Bool) -> Result<Void, DomainError> {
    // A running domain's threads leave it first, as when it is destroyed: none may go on
    // in the new life with the stack of the old one.
    if wasLive {
      unwindThreads(in: domain.id, status: .stopped)
      domain.events.wakeAll()
    }
    stop(domain)
    withInterruptsDisabled {
      domain.restarts += 1
      domain.departingThreads += domain.liveThreads
      domain.liveThreads = 0
    }
    let crashes = domain.crashes
    do throws(DomainError) {
      try startFromPristine(domain)
      return .success(())
    } catch {
      // A crash in its init went through `crash` already.
      if domain.crashes == crashes { startFailed(domain, "it did not start: \(error.message)") }
      return .failure(error)
    }
  }

  /// Restarts `domain` if it crashed and its backoff lets it start again now.
  private static func restartIfDue(_ domain: Domain) {
    var wasLive = false
    let now = Clock.nanoseconds
    guard
      claimStart(
        domain, when: { $0.state == .crashed && $0.backoff.mayRestart(at: now) },
        wasLive: &wasLive)
    else { return }
    if case .failure(let error) = restartNow(domain, wasLive: wasLive),
      domain.backoff.quickCrashes <= 3  // a loop says the rest when it gives up (`giveUp`)
    {
      Log.error("domain '\(domain.name)': restart failed: \(error.message)")
    }
  }

  /// Signalled when a domain that exports nothing crashes.
  nonisolated(unsafe) private static let uncalledCrashed = InterruptEvent()

  /// The kernel thread that restarts crashed domains exporting nothing (a service such
  /// as echo, which only imports): no call to them could restart them (`recover`), so
  /// this does, as soon as each one's backoff lets it. A failed one stays held.
  private static func superviseUncalled() {
    var seen: UInt64 = 0
    while true {
      var backingOff = false
      for domain in domains where domain.exportSlots.isEmpty && domain.state == .crashed {
        restartIfDue(domain)
        if domain.state == .crashed { backingOff = true }
      }
      if backingOff {
        Scheduler.sleep(nanoseconds: 10_000_000)
      } else {
        seen = uncalledCrashed.wait(after: seen)
      }
    }
  }

  /// Restarts the domain behind `slot` if it crashed and its backoff lets it start again
  /// now; whether it runs now. It never waits: a domain backing off, failed or starting
  /// stays as it is, and its callers get `.unavailable` until it runs.
  static func recover(slot: Int) -> Bool {
    guard slot >= 0 && slot < slotInterfaces.count,
      let domain = domains.first(where: { $0.exportSlots.contains { $0.slot == slot } })
    else { return false }
    restartIfDue(domain)
    return domain.state == .running
  }

  /// The export slot of `interface`'s first method, if `caller` may call it: its
  /// manifest imports it (the kernel may call anything). Of several drivers exporting
  /// it, the first whose device is attached.
  static func connect(_ interface: String, from caller: DomainID) -> Int? {
    if caller != .kernel {
      guard let domain = domain(caller), domain.manifest.imports.contains(interface) else {
        return nil
      }
    }
    guard !interface.contains("#") else { return nil }
    let slots = slotInterfaces.indices.filter { slotInterfaces[$0] == interface }
    // Drivers of different devices may export the same interface (the manifest allows
    // nothing else twice): the one whose device is attached serves it.
    return slots.first { slot in
      guard let exporter = domains.first(where: { $0.exportSlots.contains { $0.slot == slot } }),
        let wanted = DeviceIdentity.parse(exporter.manifest.device)
      else { return false }
      return DeviceManager.find(vendor: wanted.vendor, deviceIDs: wanted.deviceIDs) != nil
    } ?? slots.first
  }

  // MARK: - Crashes

  /// Whether `id` is running in the same life (restart count) as `life`.
  static func isAlive(_ id: DomainID, life: Int) -> Bool {
    guard let domain = domain(id) else { return false }
    return domain.state == .running && domain.restarts == life
  }

  /// Starts a thread of the calling domain that runs `entry(argument)` in the domain, at
  /// the domain priority, below every kernel thread; -1 if its `threads` or `frames` quota
  /// has no room for it, or the kernel no memory. The thread holds the domain while it
  /// runs there (DomainHolding), and never starts in a life of the domain other than the
  /// one that spawned it.
  static func spawnThread(entry: UInt64, argument: UInt64) -> Int32 {
    guard let domain = current else { return -1 }
    let id = domain.id
    let life = domain.restarts
    // Counted before the thread exists, with interrupts off, so that two of the domain's
    // threads spawning at once cannot both take the last place.
    let refusal = withInterruptsDisabled { () -> TextLine? in
      if domain.liveThreads >= domain.manifest.threads {
        return "spawn refused: it has \(domain.liveThreads) threads, its quota"
      }
      if domain.framesInUse + Thread.stackFrameCount > domain.manifest.frames {
        return
          "spawn refused: it holds \(domain.framesInUse) of its \(domain.manifest.frames) frames"
      }
      domain.liveThreads += 1
      return nil
    }
    if let refusal {
      domain.quotaRefused(refusal)
      return -1
    }
    let thread = Scheduler.spawn(
      "\(domain.name) thread", priority: .domain, owner: (domain: id, life: life)
    ) {
      if bootDomainsLoaded.count == 0 { bootDomainsLoaded.wait(after: 0) }
      // Spawned by the init of a restart, it may be scheduled before that init returns
      // and the domain runs again; entering then would find it not running and end the
      // thread unseen. It waits for the init to finish instead.
      while let domain = DomainManager.domain(id), domain.state == .starting,
        domain.restarts == life
      {
        Scheduler.sleep(nanoseconds: 1_000_000)
      }
      DomainCall.currentDomain = id
      let control = Scheduler.currentControl!
      control.pointee.ticksRunSinceWait = 0
      guard DomainHolding.take(id, life: life) == CallABI.Wait.entered else {
        DomainCall.currentDomain = .kernel
        return
      }
      // Entered from thread_run once this closure has returned (Scheduler.swift says
      // why).
      control.pointee.domainEntry = entry
      control.pointee.domainArgument = argument
    }
    guard let thread else {
      withInterruptsDisabled { threadReaped(id, life: life) }
      return -1
    }
    return Int32(thread.id)
  }

  /// A thread of domain `id`'s life `life` has ended and its stack is freed (interrupts
  /// disabled).
  static func threadReaped(_ id: DomainID, life: Int) {
    guard let domain = domain(id) else { return }
    if life == domain.restarts {
      if domain.liveThreads > 0 { domain.liveThreads -= 1 }
    } else if domain.departingThreads > 0 {
      domain.departingThreads -= 1
    }
  }

  /// An exception in domain code: contain it. False if the kernel itself faulted.
  ///
  /// Domain code runs with interrupts enabled. A fault with them disabled is the
  /// kernel's own, in an interrupt handler or a critical section, even when a domain
  /// was interrupted: containing it would abandon that work half done (an interrupt
  /// never acknowledged, a queue half changed), so it is not contained. Nor is a Swift
  /// trap in kernel code a domain called (a kernel check failed), except the one that
  /// says the domain's stack is too full for the kernel code it called, and one in a
  /// domain whose image the fault campaign corrupted (`Domain.corruptedLife`).
  static func handleException(_ frame: inout TrapFrame) -> Bool {
    let interruptFlag: UInt64 = 1 << 9
    guard frame.rflags & interruptFlag != 0 else { return false }
    guard let domain = current else { return false }
    guard domain.isLive else {
      // Its code ran when it was not live: a thread that should have been unwound was
      // not. The panic that follows is the kernel's bug; this says whose code it was.
      Console.print(
        "exception in domain '\(domain.name)' while it is \(domain.state.name) (crash \(domain.crashes): \(domain.lastCrash)); thread unwind status \(Scheduler.currentControl?.pointee.unwindStatus ?? 0)"
      )
      return false
    }
    let vector = ExceptionVector(rawValue: frame.vector)
    if vector == .invalidOpcode && isKernelCode(frame.rip)
      && frame.rip != DomainCall.stackExhaustedAddress && domain.corruptedLife != domain.restarts
    {
      // A Swift trap (ud2) in kernel code the domain called: a check in the kernel
      // failed, which is the kernel's bug whatever the domain did, and its state may be
      // half changed. Not contained (DESIGN.md: a kernel trap is a panic). Only a domain
      // whose image the fault campaign corrupted may have jumped there by itself.
      Console.print(
        "kernel trap in kernel code called by domain '\(domain.name)': a kernel check failed")
      return false
    }
    var why: TextLine = "\(vector?.name ?? "exception") at \(hex: frame.rip)"
    if frame.rip == DomainCall.stackExhaustedAddress {
      domain.stackExhaustions += 1
      why =
        "its stack is nearly full: kernel code it called needs \(CallABI.serviceStackRoom) bytes"
    } else if vector == .pageFault {
      why.append(" (address \(hex: CPU.cr2))")
    }
    crash(domain, why, status: .crashed)
    return endCall(&frame, .crashed)
  }

  /// The watchdog, on every tick: a call that has run past its callee's budget, counted
  /// from the call's entry with time blocked and time in nested calls included, ends
  /// its callee like a crash. Every thread's calls are looked at, not only the running
  /// thread's: a callee that sleeps or waits in the kernel is timed too.
  static let ownThreadBudgetMilliseconds = 1000

  static func watchdogTick(_ frame: inout TrapFrame) {
    let now = DomainCall.ticks
    let running = Scheduler.currentControl
    var overdue: (domain: Domain, milliseconds: UInt64)?
    func check(_ callee: DomainID, since: UInt64, atLeast minimum: Int = 0) {
      guard overdue == nil, callee != .kernel, let domain = domain(callee), domain.isLive
      else { return }
      let elapsed = now &- since
      let milliseconds = max(domain.manifest.budgetMilliseconds, minimum)
      let budget = UInt64(milliseconds) * UInt64(Clock.tickHertz) / 1000
      if elapsed > budget { overdue = (domain, elapsed * 1000 / UInt64(Clock.tickHertz)) }
    }
    Scheduler.forEachThread { thread in
      let (innermost, domainNow) = callState(of: thread, running: running)
      Continuation.forEach(from: innermost, current: domainNow) { continuation, callee in
        check(callee, since: continuation.entryTick)
      }
      check(thread.control.pointee.entering, since: thread.control.pointee.enteringSince)
    }
    // A domain's own thread, in its domain with no call in progress, has no call to time:
    // it is timed by the ticks it has run since it last waited, so that one spinning for
    // ever is ended too. It must wait (sleep, an event, a device, a call that blocks)
    // once per budget or per `ownThreadBudgetMilliseconds`, whichever is longer, of its
    // own running: time it waited for the CPU while kernel threads had it (a domain's
    // threads have the lowest priority) does not count.
    var ownThread = false
    if let running { running.pointee.ticksRunSinceWait &+= 1 }
    if overdue == nil, let running, running.pointee.ownerDomain != .kernel,
      DomainCall.currentDomain == running.pointee.ownerDomain, DomainCall.currentContinuation == 0
    {
      check(
        running.pointee.ownerDomain, since: now &- running.pointee.ticksRunSinceWait,
        atLeast: ownThreadBudgetMilliseconds)
      ownThread = overdue != nil
    }
    guard let (domain, milliseconds) = overdue else { return }
    // A thread in the call gate is on its way into a callee or back into a caller: the
    // kernel code there returns into a domain without the check a kernel call's way
    // back has (boot/sysinterface.asm), so a crash now could let it run on in a dead
    // domain. It is somewhere plainer at the next tick; the overdue domain waits for it.
    if isKernelCode(frame.rip) && DomainCall.isCallGate(frame.rip) { return }
    // A thread of the domain in kernel code the domain called (a restart of another
    // domain, whose init runs on this thread) is left to finish it: an unwind set now
    // would be taken by the first kernel call's way back, which may be in that other
    // domain's init, and the thread would then return into this one dead. It is back in
    // the domain's code soon: kernel calls end.
    if DomainCall.currentDomain == domain.id && isKernelCode(frame.rip) { return }
    if ownThread {
      let budget = max(domain.manifest.budgetMilliseconds, ownThreadBudgetMilliseconds)
      crash(
        domain, "its own thread ran \(milliseconds) ms without waiting, over its \(budget) ms",
        status: .timedOut)
    } else {
      crash(
        domain,
        "a call ran \(milliseconds) ms, over its \(domain.manifest.budgetMilliseconds) ms budget",
        status: .timedOut)
    }
    // The running thread, if in the domain, is in its code: the call ends now.
    guard DomainCall.currentDomain == domain.id else { return }
    _ = endCall(&frame, .timedOut)
  }

  /// A tick that stayed on the interrupt stack, because the thread it interrupted was too
  /// deep in its stack (boot/traps.asm): that thread cannot be preempted there. Domain
  /// code that stays there while others wait for the CPU would keep it for ever (a
  /// domain's own thread has no call budget), so after two quanta of it its domain is
  /// ended like a call over its budget.
  static func unpreemptibleTick(_ frame: inout TrapFrame) {
    guard let control = Scheduler.currentControl, let domain = current, domain.isLive,
      !isKernelCode(frame.rip), Scheduler.switchWanted
    else { return }
    control.pointee.unpreemptibleTicks += 1
    guard control.pointee.unpreemptibleTicks > 2 * Scheduler.quantumTicks else { return }
    control.pointee.unpreemptibleTicks = 0
    crash(
      domain,
      "it kept the CPU \(2 * Scheduler.quantumTicks) ticks with its stack too full to be preempted",
      status: .timedOut)
    _ = endCall(&frame, .timedOut)
  }

  /// A thread's innermost continuation and current domain: the globals for the running
  /// thread, what the scheduler saved for the others.
  private static func callState(of thread: Thread, running: ThreadHandle?) -> (UInt64, DomainID) {
    if thread.control == running {
      return (DomainCall.currentContinuation, DomainCall.currentDomain)
    }
    return (thread.control.pointee.continuation, thread.control.pointee.domain)
  }

  static func isKernelCode(_ address: UInt64) -> Bool {
    address >= LinkerAddress.textStart.value && address < LinkerAddress.textEnd.value
  }

  /// Ends `domain`: its slots stop, its device stops, its memory goes back, and every
  /// thread inside it is unwound out of it (rule 2 of boot/domaincall.asm):
  /// - a continuation whose caller is the domain returns into swiftlet_call_unwound, so
  ///   the callee (another domain, which finishes its work) unwinds on past the dead
  ///   frames when it returns;
  /// - a switched-out thread whose current domain it is unwinds when it next runs: from
  ///   its interrupt (Interrupts.swift) or its kernel call (boot/sysinterface.asm);
  /// - the running thread, if it is inside, is the caller's to unwind (`endCall`).
  static func crash(_ domain: Domain, _ reason: TextLine, status: CallStatus) {
    var why = reason
    if domain.state == .starting { why.append(" in its init") }
    domain.state = .crashed
    domain.crashes += 1
    domain.lastCrash = why
    domain.lastCrashTimedOut = status == .timedOut
    // Every crash is counted; the log shows the first few and then every 100th, so a
    // domain crashing in a loop cannot drown the console.
    if domain.crashes <= 3 || domain.crashes % 100 == 0 {
      Log.warning("domain '\(domain.name)' crashed (\(domain.crashes) so far): \(why)")
    }
    if domain.backoff.crashed(at: Clock.nanoseconds) { giveUp(domain, why) }
    for (_, slot) in domain.exportSlots { DomainCall.exports[slot].running = 0 }
    // Its device stops mastering the bus before the memory it may be writing is freed;
    // a restarted instance gets the device back when it asks (DeviceCalls.swift).
    DeviceManager.revoke(owner: domain.id)
    domain.dropHeap()
    SharedMemory.reclaim(domain.id)
    unwindThreads(in: domain.id, status: status)
    domain.events.wakeAll()  // its threads waiting for one leave, to unwind
    DomainHolding.reset(domain.id)
    if domain.exportSlots.isEmpty { uncalledCrashed.signal() }
  }

  /// The domain did not start (not a crash: its image could not be loaded, or no memory
  /// was left): it is down as after a crash, and its backoff counts it as one in init.
  private static func startFailed(_ domain: Domain, _ why: TextLine) {
    domain.state = .crashed
    domain.lastCrash = why
    if domain.backoff.crashed(at: Clock.nanoseconds) { giveUp(domain, why) }
    if domain.exportSlots.isEmpty { uncalledCrashed.signal() }
  }

  /// Holds the domain failed after a crash loop: nothing restarts it but the kernel
  /// (`restart`). Said once, when it happens.
  private static func giveUp(_ domain: Domain, _ why: TextLine) {
    domain.state = .failed
    Log.error(
      "domain '\(domain.name)' failed: crashed \(domain.backoff.quickCrashes) times in a row, last: \(why); held stopped"
    )
  }

  private static func unwindThreads(in id: DomainID, status: CallStatus) {
    let running = Scheduler.currentControl
    let unwound = DomainCall.unwoundAddress(status)
    Scheduler.forEachThread { thread in
      let (innermost, domainNow) = callState(of: thread, running: running)
      Continuation.forEach(from: innermost, current: domainNow) { continuation, _ in
        if continuation.caller == id { continuation.returnAddress = unwound }
      }
      if thread.control != running && domainNow == id {
        thread.control.pointee.unwindStatus = status.rawValue
        Scheduler.wakeIfSleeping(thread.control)
        // Waiting to enter another domain: woken to leave (the others waiting there
        // look again and wait on).
        let entering = thread.control.pointee.entering
        if entering != .kernel { self.domain(entering)?.holderQueue.wakeAll() }
      }
    }
  }

  /// Unwinds the running thread, interrupted in the code of a domain that died while it
  /// was switched out (`unwindStatus` set by `crash`).
  static func unwindInterrupted(_ frame: inout TrapFrame) {
    guard let control = Scheduler.currentControl, control.pointee.unwindStatus != 0,
      !isKernelCode(frame.rip)
    else { return }
    let status = CallStatus(rawValue: control.pointee.unwindStatus) ?? .crashed
    control.pointee.unwindStatus = 0
    _ = endCall(&frame, status)
  }

  /// Resumes the innermost call's caller with `status`, or, in a domain's own thread
  /// with no call in progress, ends the thread: its frame resumes at the kill
  /// trampoline on a fresh top of its stack.
  private static func endCall(_ frame: inout TrapFrame, _ status: CallStatus) -> Bool {
    if DomainCall.currentContinuation != 0 {
      DomainCall.unwindInnermostCall(&frame, status: status)
      return true
    }
    guard let thread = Scheduler.current, thread.ownerDomain != .kernel, let top = thread.stackTop
    else {
      return false
    }
    frame.rsp = top - 16
    frame.rip = Scheduler.killTrampolineAddress
    return true
  }
}
