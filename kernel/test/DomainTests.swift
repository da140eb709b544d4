/// Tests of domains: loading, calls through generated proxies, crash containment and
/// recovery, and that crashing and restarting leaks nothing.
import Memory
import SwiftletInterfaces
import SwiftletLib

enum DomainTests {
  static var tests: [KernelTest] {
    [
      KernelTest("domains.boot_modules_loaded", bootModulesLoaded),
      KernelTest("domains.call_through_proxy", callThroughProxy),
      KernelTest("domains.call_switches_domain", callSwitchesDomain),
      KernelTest("domains.private_heaps", privateHeaps),
      KernelTest("domains.nested_call", nestedCall),
      KernelTest("domains.crash_kinds_contained", crashKindsContained),
      KernelTest("domains.watchdog_ends_a_hung_call", watchdogEndsAHungCall),
      KernelTest("domains.nested_crash_returns_to_middle", nestedCrashReturnsToMiddle),
      KernelTest("domains.restart_loses_state", restartLosesState),
      KernelTest("domains.restart_restores_every_page", restartRestoresEveryPage),
      KernelTest("domains.crash_restart_cycles_leak_nothing", crashRestartCyclesLeakNothing),
      KernelTest("domains.connect_needs_an_import", connectNeedsAnImport),
      KernelTest("domains.malformed_images_rejected", malformedImagesRejected),
      KernelTest("domains.shadow_restarts_and_retries", shadowRestartsAndRetries),
      KernelTest("domains.destroy_gives_everything_back", destroyGivesEverythingBack),
      KernelTest("domains.callee_errors_cross", calleeErrorsCross),
      KernelTest("domains.undelivered_move_is_freed", undeliveredMoveIsFreed),
    ]
  }

  static let expected = ["client", "counter", "crasher", "hello"]

  static func bootModulesLoaded(_ t: inout TestContext) {
    for name in expected {
      guard let domain = DomainManager.lookup(name) else {
        t.expect(false, "domain '\(name)' not loaded")
        continue
      }
      t.expect(domain.state == .running, "domain '\(name)' is not running")
      t.expect(
        domain.manifest.name == name, "domain '\(name)' calls itself '\(domain.manifest.name)'")
    }
  }

  static func callThroughProxy(_ t: inout TestContext) {
    guard case .success(let greeter) = GreeterProxy.connect() else {
      t.expect(false, "cannot connect to Greeter")
      return
    }
    t.expect(greeter.ping().isSuccess, "ping failed")
    let firstResult = greeter.greet(1)
    let secondResult = greeter.greet(2)
    guard case .success(let first) = firstResult, case .success(let second) = secondResult else {
      t.expect(false, "greet failed: \(describe(firstResult)), \(describe(secondResult))")
      return
    }
    t.expect(second == first + 1, "greetings \(first) then \(second)")
  }

  /// The call really ran in the callee: its export counted it, and the kernel is the
  /// current domain again afterwards.
  static func callSwitchesDomain(_ t: inout TestContext) {
    guard case .success(let greeter) = GreeterProxy.connect(),
      let hello = DomainManager.lookup("hello")
    else {
      t.expect(false, "no Greeter")
      return
    }
    let before = hello.calls
    for _ in 0..<10 { _ = greeter.ping() }
    t.expect(hello.calls == before + 10, "hello counted \(hello.calls - before) calls, expected 10")
    t.expect(
      DomainCall.currentDomain == .kernel && DomainCall.currentContinuation == 0,
      "not back in the kernel")
  }

  /// Allocation in a domain comes from its own heap, not the kernel's.
  static func privateHeaps(_ t: inout TestContext) {
    guard case .success(let counter) = CounterProxy.connect(),
      let domain = DomainManager.lookup("counter")
    else {
      t.expect(false, "no Counter")
      return
    }
    let kernelBefore = KernelHeap.statistics.totalAllocations
    let domainBefore = domain.heapStatistics.totalAllocations
    for _ in 0..<50 { _ = counter.increment(by: 1) }
    t.expect(
      domain.heapStatistics.totalAllocations > domainBefore,
      "the counter allocated nothing in its heap")
    t.expect(
      KernelHeap.statistics.totalAllocations == kernelBefore,
      "the counter allocated from the kernel heap")
  }

  static func nestedCall(_ t: inout TestContext) {
    guard case .success(let client) = TestClientProxy.connect(),
      let hello = DomainManager.lookup("hello")
    else {
      t.expect(false, "no TestClient")
      return
    }
    let before = hello.calls
    let result = client.greetMany(5)
    t.expect(result.isSuccess, "greetMany failed: \(describe(result))")
    t.expect(
      hello.calls == before + 5, "hello served \(hello.calls - before) nested calls, expected 5")
  }

  static var contained: [(CrashKind, StaticString)] {
    [
      (.swiftTrap, "Swift trap"), (.pageFault, "page fault"),
      (.generalProtection, "general protection"),
      (.divideError, "divide error"), (.stackOverflow, "stack overflow"),
    ]
  }

  static func crashKindsContained(_ t: inout TestContext) {
    guard case .success(let crasher) = CrasherProxy.connect(),
      let domain = DomainManager.lookup("crasher")
    else {
      t.expect(false, "no Crasher")
      return
    }
    for (kind, name) in contained {
      TestDomains.settle("crasher")  // so that its caller's `recover()` restarts it at once
      let crashesBefore = domain.crashes
      let result = crasher.crash(kind)
      t.expect(result.error == .domainCrashed, "\(name): got \(describe(result))")
      t.expect(
        domain.state == .crashed && domain.crashes == crashesBefore + 1,
        "\(name): not marked crashed")
      t.expect(crasher.echo(1) == .failure(.unavailable), "\(name): a crashed domain answered")
      t.expect(crasher.recover(), "\(name): restart failed")
      t.expect(crasher.echo(42) == .success(42), "\(name): no answer after restart")
    }
  }

  static func watchdogEndsAHungCall(_ t: inout TestContext) {
    guard case .success(let crasher) = CrasherProxy.connect() else {
      t.expect(false, "no Crasher")
      return
    }
    TestDomains.settle("crasher")
    let start = Clock.nanoseconds
    let result = crasher.crash(.hang)
    let elapsed = (Clock.nanoseconds - start) / 1_000_000
    t.expect(result.error == .timedOut, "a hung call returned \(describe(result))")
    t.expect(elapsed >= 100, "ended after \(elapsed) ms, before the 100 ms budget")
    t.expect(crasher.recover() && crasher.echo(7) == .success(7), "no answer after restart")
  }

  /// kernel -> client -> crasher: the crash returns to the client, which goes on.
  static func nestedCrashReturnsToMiddle(_ t: inout TestContext) {
    guard case .success(let client) = TestClientProxy.connect() else {
      t.expect(false, "no TestClient")
      return
    }
    let result = client.crashThroughMe(.pageFault)
    t.expect(result == .success(1), "the client saw \(describe(result)), expected the crash (1)")
    t.expect(DomainManager.lookup("client")?.state == .running, "the client went down too")
    t.expect(client.greetMany(1).isSuccess, "the client cannot go on")
    TestDomains.restart("crasher")
  }

  static func restartLosesState(_ t: inout TestContext) {
    guard case .success(let counter) = CounterProxy.connect(),
      let domain = DomainManager.lookup("counter")
    else {
      t.expect(false, "no Counter")
      return
    }
    _ = counter.increment(by: 5)
    t.expect((try? counter.value().get()) ?? 0 >= 5, "the counter did not count")
    t.expect(DomainManager.restart(domain).isSuccess, "restart failed")
    t.expect(
      counter.value() == .success(0), "state survived a restart: \(describe(counter.value()))")
  }

  /// A restart copies the pristine image back over every page, read-only ones included,
  /// and protects them again; the copy itself is never writable.
  static func restartRestoresEveryPage(_ t: inout TestContext) {
    guard let domain = DomainManager.lookup("crasher"), let image = domain.loaded,
      let pristine = image.pristine
    else {
      t.expect(false, "no crasher image with a pristine copy")
      return
    }
    for page in 0..<image.frameCount {
      let address = pristine.address + UInt64(page) * Paging.pageSize
      t.expect(
        Paging.translate(address).map { !$0.flags.contains(.writable) } ?? false,
        "page \(page) of the pristine copy is writable")
    }
    // The ELF header's page is read-only: a bit flipped there through a writable mapping
    // must not outlive the restart.
    let first = image.frames.address
    let byte = UnsafeMutablePointer<UInt8>(bitPattern: UInt(first + 7))!
    let original = byte.pointee
    Paging.map(first..<first + Paging.pageSize, .kernelData, smallPages: true)
    byte.pointee = original ^ 0x10
    t.expect(DomainManager.restart(domain).isSuccess, "restart failed")
    t.expect(byte.pointee == original, "the flipped byte survived the restart")
    t.expect(
      Paging.translate(first).map { !$0.flags.contains(.writable) } ?? false,
      "the header page is writable after the restart")
    t.expect(domain.loaded?.frames == image.frames, "the domain moved on restart")
    guard case .success(let crasher) = CrasherProxy.connect() else { return }
    t.expect(crasher.echo(3) == .success(3), "no answer after the restart")
  }

  /// 1,000 crash-and-restart cycles under calls: heap, frames and call results all
  /// come out as they went in. The kernel restarts the domain each time: a caller's
  /// `recover()` would wait out the backoff of crashes this quick, and give up at 10.
  static func crashRestartCyclesLeakNothing(_ t: inout TestContext) {
    guard case .success(let crasher) = CrasherProxy.connect(),
      let domain = DomainManager.lookup("crasher")
    else {
      t.expect(false, "no Crasher")
      return
    }
    // One cycle first: slots and logs reach their steady size.
    _ = crasher.crash(.swiftTrap)
    _ = DomainManager.restart(domain)
    let heapBefore = KernelHeap.statistics
    let framesBefore = Frames.statistics
    let sharedBefore = SharedMemory.totals
    var unexpected = 0
    for cycle in 0..<1000 {
      let kind = contained[cycle % contained.count].0
      if crasher.crash(kind).error != .domainCrashed { unexpected += 1 }
      if !DomainManager.restart(domain).isSuccess { unexpected += 1 }
      if crasher.echo(cycle) != .success(cycle) { unexpected += 1 }
    }
    let heapAfter = KernelHeap.statistics
    let framesAfter = Frames.statistics
    t.expect(unexpected == 0, "\(unexpected) calls gave an unexpected result")
    t.expect(
      heapAfter.liveAllocations == heapBefore.liveAllocations
        && heapAfter.bytesInUse == heapBefore.bytesInUse,
      "kernel heap: \(heapAfter.bytesInUse - heapBefore.bytesInUse) bytes, \(heapAfter.liveAllocations - heapBefore.liveAllocations) allocations not returned"
    )
    t.expect(
      SharedMemory.totals == sharedBefore,
      "shared heap: \(SharedMemory.totals.allocations - sharedBefore.allocations) allocations not returned"
    )
    let slabGrowth = (heapAfter.capacity - heapBefore.capacity) / Int(Paging.pageSize)
    t.expect(
      framesBefore.freeFrames - framesAfter.freeFrames == slabGrowth,
      "\(framesBefore.freeFrames - framesAfter.freeFrames) frames not returned")
  }

  static func connectNeedsAnImport(_ t: inout TestContext) {
    // The kernel may connect to anything; a domain only to what its manifest imports.
    let hello = DomainManager.lookup("hello")!.id
    let client = DomainManager.lookup("client")!.id
    t.expect(DomainManager.connect("Greeter", from: client) != nil, "client may not call Greeter")
    t.expect(
      DomainManager.connect("Counter", from: client) == nil,
      "client may call Counter without importing it")
    t.expect(
      DomainManager.connect("Greeter", from: hello) == nil,
      "hello may call Greeter without importing it")
    t.expect(DomainManager.connect("NoSuchInterface", from: .kernel) == nil, "connected to nothing")
  }

  /// Destroying a domain returns its image's and heap's frames; it answers no more
  /// calls until it is created again from its pristine image.
  static func destroyGivesEverythingBack(_ t: inout TestContext) {
    guard case .success(let counter) = CounterProxy.connect(),
      let domain = DomainManager.lookup("counter")
    else {
      t.expect(false, "no Counter")
      return
    }
    let held = domain.loadedFrames + domain.pristineFrames + domain.heapFrameCount
    t.expect(domain.pristineFrames == domain.loadedFrames, "no pristine copy of the image")
    let freeBefore = Frames.statistics.freeFrames
    DomainManager.destroy(domain)
    t.expect(domain.state == .destroyed, "not marked destroyed")
    t.expect(
      Frames.statistics.freeFrames == freeBefore + held,
      "\(Frames.statistics.freeFrames - freeBefore) of \(held) frames came back")
    t.expect(counter.value().error == .unavailable, "a destroyed domain answered")
    t.expect(
      DomainManager.restart(domain).isSuccess && counter.value() == .success(0), "not created again"
    )
  }

  /// A caller of a flaky domain through its shadow sees success: the shadow restarts the
  /// crashed domain and retries an idempotent call once; a non-idempotent call still
  /// reports its crash, but the domain is running again afterwards.
  static func shadowRestartsAndRetries(_ t: inout TestContext) {
    guard case .success(let shadow) = CrasherShadow.connect(),
      case .success(let crasher) = CrasherProxy.connect(),
      let domain = DomainManager.lookup("crasher")
    else {
      t.expect(false, "no Crasher")
      return
    }
    TestDomains.settle("crasher")
    _ = crasher.crash(.pageFault)
    t.expect(domain.state == .crashed, "the crasher did not crash")
    let restarts = domain.restarts
    t.expect(shadow.echo(5) == .success(5), "an idempotent call through the shadow did not succeed")
    t.expect(domain.restarts == restarts + 1, "the shadow did not restart the domain once")
    TestDomains.settle("crasher")
    t.expect(shadow.crash(.swiftTrap).error == .domainCrashed, "a non-idempotent crash was hidden")
    t.expect(domain.state == .running, "the shadow left the domain down")
    t.expect(
      crasher.echo(6) == .success(6), "the domain does not answer after the shadow's restart")
  }

  /// An error the callee returns crosses as itself, distinct from the kernel's own
  /// statuses: the client's nested call finds hello stopped and returns that error.
  static func calleeErrorsCross(_ t: inout TestContext) {
    let errors: [RpcError] = [
      .domainCrashed, .timedOut, .unavailable, .notConnected, .refused, .failed(code: 7),
      .failed(code: -1), .failed(code: .min),
    ]
    for error in errors {
      t.expect(error.status != 0, "\(describe(.failure(error) as Result<Void, RpcError>)) is 0")
      t.expect(
        RpcError(status: error.status) == error,
        "\(describe(.failure(error) as Result<Void, RpcError>)) does not come back as itself")
    }
    guard case .success(let client) = TestClientProxy.connect(),
      let hello = DomainManager.lookup("hello")
    else {
      t.expect(false, "no TestClient")
      return
    }
    DomainManager.destroy(hello)
    let result = client.greetMany(1)
    t.expect(result.error == .unavailable, "the client's error came back as \(describe(result))")
    t.expect(DomainManager.restart(hello).isSuccess, "hello did not start again")
    t.expect(client.greetMany(1).isSuccess, "the client cannot greet after the restart")
  }

  /// A letter moved into a call to a stopped domain never reaches it: the proxy frees it,
  /// and nothing leaks.
  static func undeliveredMoveIsFreed(_ t: inout TestContext) {
    guard case .success(let mailbox) = MailboxProxy.connect(),
      case .success(let crasher) = CrasherProxy.connect()
    else {
      t.expect(false, "no Mailbox")
      return
    }
    TestDomains.settle("crasher")
    _ = crasher.crash(.swiftTrap)
    let before = SharedMemory.totals
    if let letter = RRef(Letter(number: 3)) {
      let result = mailbox.keep(letter)
      t.expect(result.error == .unavailable, "a call to a crashed domain gave \(describe(result))")
    }
    t.expect(
      SharedMemory.totals == before,
      "\(SharedMemory.totals.allocations - before.allocations) undelivered letters leaked")
    t.expect(crasher.recover(), "the crasher did not restart")
  }

  /// Broken copies of the hello image are each refused with their reason, and the
  /// kernel and the other domains carry on.
  static func malformedImagesRejected(_ t: inout TestContext) {
    guard let hello = DomainManager.lookup("hello") else {
      t.expect(false, "no hello image")
      return
    }
    let pristine = Array(hello.image)
    let count = DomainManager.domains.count
    func expectRejected(_ name: String, _ bytes: [UInt8], _ expected: String) {
      let result = bytes.withUnsafeBytes { DomainManager.create(name: name, image: $0) }
      switch result {
      case .success: t.expect(false, "\(name): a broken image was loaded")
      case .failure(let error):
        t.expect(
          error.message.hasPrefix(expected),
          "\(name): got '\(error.message)', expected '\(expected)...'")
      }
    }
    expectRejected("truncated", Array(pristine[0..<100]), "program header table at 0x40")

    var wrongMachine = pristine
    wrongMachine[18] = 183  // e_machine: EM_AARCH64
    wrongMachine[19] = 0
    expectRejected("wrongmachine", wrongMachine, "ELF machine 183 is not EM_X86_64 (62)")

    var badRelocation = pristine
    if let rela = relocationTableOffset(pristine) {
      badRelocation[rela + 8] = 37  // r_info's type of the first entry
      expectRejected(
        "badrelocation", badRelocation, "relocation 0 in .rela.dyn: unknown relocation type 37")
    } else {
      t.expect(false, "no .rela.dyn in the hello image")
    }

    var unknownImport = pristine
    if let at = find(Array("posix_memalign\u{0}".utf8), in: pristine) {
      unknownImport[at + 7] = UInt8(ascii: "x")
      expectRejected(
        "unknownimport", unknownImport,
        "unknown import 'posix_mxmalign': not in the kernel's system interface")
    } else {
      t.expect(false, "hello does not import posix_memalign")
    }

    expectRejected("impostor", pristine, "the image says it is 'hello'")
    t.expect(DomainManager.domains.count == count, "a rejected image left a domain behind")
    guard case .success(let greeter) = GreeterProxy.connect() else { return }
    t.expect(greeter.ping().isSuccess, "hello stopped working")
  }

  /// The file offset of DT_RELA's table: through PT_DYNAMIC and the PT_LOAD holding it.
  static func relocationTableOffset(_ image: [UInt8]) -> Int? {
    func word(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(image[at + $1]) << (8 * $1) } }
    func half(_ at: Int) -> Int { Int(image[at]) | Int(image[at + 1]) << 8 }
    let headers = word(32)
    let count = half(56)
    var segments: [(offset: Int, address: Int, size: Int)] = []
    var dynamic: Int?
    for index in 0..<count {
      let header = headers + index * 56
      let type = half(header)
      if type == 1 { segments.append((word(header + 8), word(header + 16), word(header + 32))) }
      if type == 2 { dynamic = word(header + 8) }
    }
    guard var entry = dynamic else { return nil }
    while word(entry) != 0 {
      if word(entry) == 7 {
        let address = word(entry + 8)
        for segment in segments
        where address >= segment.address && address < segment.address + segment.size {
          return address - segment.address + segment.offset
        }
      }
      entry += 16
    }
    return nil
  }

  static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
      if Array(haystack[start..<(start + needle.count)]) == needle { return start }
    }
    return nil
  }

  static func describe<T>(_ result: Result<T, RpcError>) -> TextLine {
    switch result {
    case .success: "success"
    case .failure(.domainCrashed): "domainCrashed"
    case .failure(.timedOut): "timedOut"
    case .failure(.unavailable): "unavailable"
    case .failure(.notConnected): "notConnected"
    case .failure(.refused): "refused"
    case .failure(.failed(let code)): "failed(\(code))"
    }
  }
}

extension Result {
  var isSuccess: Bool {
    if case .success = self { return true }
    return false
  }

  /// The error, or nil on success: comparable even when the success type is not.
  var error: Failure? {
    if case .failure(let error) = self { return error }
    return nil
  }
}

/// A trap in a domain's own thread, outside any call: the domain crashes, all its
/// threads end, and the kernel and the other domains go on.
enum DomainThreadTests {
  static var tests: [KernelTest] {
    [
      KernelTest("domains.own_thread_trap_ends_its_threads", ownThreadTrapEndsItsThreads),
      KernelTest("domains.event_wait_times_out", eventWaitTimesOut),
      KernelTest("domains.event_wakes_a_waiting_call", eventWakesAWaitingCall),
      KernelTest("domains.crash_wakes_event_waiters", crashWakesEventWaiters),
    ]
  }

  static func crasherThreads() -> Int {
    var count = 0
    Scheduler.forEachThread {
      if $0.name == "crasher thread" && $0.state != .finished { count += 1 }
    }
    return count
  }

  static func ownThreadTrapEndsItsThreads(_ t: inout TestContext) {
    guard case .success(let background) = BackgroundProxy.connect(),
      let crasher = DomainManager.lookup("crasher")
    else {
      t.expect(false, "no Background")
      return
    }
    TestDomains.settle("crasher")
    let crashes = crasher.crashes
    t.expect(background.startLooper().isSuccess, "no looper")
    Scheduler.sleep(nanoseconds: 10_000_000)
    guard case .success(let rounds) = background.rounds() else {
      t.expect(false, "rounds failed")
      return
    }
    t.expect(rounds > 0, "the looper thread never ran")
    t.expect(crasherThreads() == 1, "\(crasherThreads()) crasher threads, expected the looper")
    t.expect(background.trapInThread(after: 5).isSuccess, "the call itself failed")
    let deadline = Clock.nanoseconds + 2_000_000_000
    while crasher.state == .running && Clock.nanoseconds < deadline {
      Scheduler.sleep(nanoseconds: 1_000_000)
    }
    t.expect(
      crasher.state == .crashed && crasher.crashes == crashes + 1,
      "the trap did not crash the domain")
    while crasherThreads() > 0 && Clock.nanoseconds < deadline {
      Scheduler.sleep(nanoseconds: 1_000_000)
    }
    t.expect(crasherThreads() == 0, "\(crasherThreads()) crasher threads outlived the crash")
    t.expect(background.rounds().error == .unavailable, "the crashed domain still answers")
    t.expect(
      background.recover() && background.rounds() == .success(0), "no fresh start after the crash")
  }

  /// Nobody signals: the wait ends by its timeout, not before.
  static func eventWaitTimesOut(_ t: inout TestContext) {
    guard case .success(let background) = BackgroundProxy.connect() else {
      t.expect(false, "no Background")
      return
    }
    let start = Clock.nanoseconds
    let signalled = background.waitForSignal(milliseconds: 20)
    let waited = Clock.nanoseconds - start
    t.expect(signalled == .success(false), "a wait nobody signalled did not time out")
    t.expect(waited >= 20_000_000 && waited < 1_000_000_000, "it waited \(waited) ns for 20 ms")
  }

  /// A thread of the domain signals while a call waits in it: the waiting call gave the
  /// domain back (or the thread could not have entered to signal) and wakes at once.
  static func eventWakesAWaitingCall(_ t: inout TestContext) {
    guard case .success(let background) = BackgroundProxy.connect() else {
      t.expect(false, "no Background")
      return
    }
    t.expect(background.signalLater(milliseconds: 5).isSuccess, "no signalling thread")
    let start = Clock.nanoseconds
    let signalled = background.waitForSignal(milliseconds: 5_000)
    let waited = Clock.nanoseconds - start
    t.expect(signalled == .success(true), "the signal did not end the wait")
    t.expect(waited < 1_000_000_000, "it waited \(waited) ns: the signal did not wake it")
  }

  /// The domain dies while a call waits for its event: the call ends with the crash at
  /// once, not at its timeout.
  static func crashWakesEventWaiters(_ t: inout TestContext) {
    guard case .success(let background) = BackgroundProxy.connect() else {
      t.expect(false, "no Background")
      return
    }
    TestDomains.settle("crasher")
    nonisolated(unsafe) var outcome: Result<Bool, RpcError> = .success(false)
    let waiter = Scheduler.spawn("event waiter") {
      outcome = background.waitForSignal(milliseconds: 10_000)
    }
    guard let waiter else {
      t.expect(false, "spawn failed")
      return
    }
    let start = Clock.nanoseconds
    Scheduler.sleep(nanoseconds: 2_000_000)
    t.expect(background.trapInThread(after: 5).isSuccess, "the trap call itself failed")
    Scheduler.join(waiter)
    let waited = Clock.nanoseconds - start
    t.expect(outcome.error == .domainCrashed, "the waiting call did not end with the crash")
    t.expect(waited < 2_000_000_000, "it took \(waited) ns: the crash did not wake the waiter")
    t.expect(background.recover(), "no restart after the crash")
  }
}
