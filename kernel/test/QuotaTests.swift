/// Tests of what a domain may take: its shared-heap bytes, threads and frames (as its
/// manifest says), the kernel's share of the shared heap, the CPU the kernel's threads
/// need, and the console.
import Memory
import SwiftletInterfaces
import SwiftletLib

enum QuotaTests {
  static var tests: [KernelTest] {
    [
      KernelTest("quota.manifest_sizes_are_checked", manifestSizesAreChecked),
      KernelTest("quota.images_over_their_quotas_are_refused", imagesOverTheirQuotasAreRefused),
      KernelTest("quota.spinning_threads_do_not_starve_the_kernel", spinningThreadsDoNotStarve),
      KernelTest("quota.shared_heap_quota_holds", sharedHeapQuotaHolds),
      KernelTest("quota.kernel_reserve_outlasts_domains", kernelReserveOutlastsDomains),
      KernelTest("quota.log_lines_are_rate_limited", logLinesAreRateLimited),
    ]
  }

  /// The Background interface and the crasher domain behind it.
  static func background(_ t: inout TestContext) -> (BackgroundProxy, Domain)? {
    guard case .success(let background) = BackgroundProxy.connect(),
      let crasher = DomainManager.lookup("crasher")
    else {
      t.expect(false, "no Background")
      return nil
    }
    if crasher.state != .running { TestDomains.restart("crasher") }
    settleWatchdog()
    return (background, crasher)
  }

  /// Runs for two ticks outside any call. The watchdog tells calls apart by their
  /// continuation's address, which a thread's next call from the same depth shares: it
  /// would time a call of several ticks from the last one a tick saw, sleeps between them
  /// included, unless a tick has seen the thread outside any call since.
  static func settleWatchdog() {
    let until = Clock.ticks + 2
    while Clock.ticks < until { CPU.pause() }
  }

  static func manifestSizesAreChecked(_ t: inout TestContext) {
    let defaults = DomainManifestInfo(parsing: "name=x\nheapKiB=64\n")
    t.expect(
      defaults.sharedHeapKiB == 1024 && defaults.threads == 8 && defaults.frames == 1024,
      "defaults \(defaults.sharedHeapKiB) KiB, \(defaults.threads) threads, \(defaults.frames) frames"
    )
    t.expect(defaults.problem == nil, "the defaults are refused")
    let declared = DomainManifestInfo(parsing: "sharedHeapKiB=64\nthreads=2\nframes=300\n")
    t.expect(
      declared.sharedHeapKiB == 64 && declared.threads == 2 && declared.frames == 300,
      "declared quotas not read")
    for text in [
      "heapKiB=0", "heapKiB=-4", "heapKiB=99999999", "threads=-1", "threads=100000", "frames=0",
      "frames=99999999", "sharedHeapKiB=-1", "sharedHeapKiB=99999999",
    ] {
      let problem = DomainManifestInfo(parsing: text).problem
      t.expect(
        problem?.hasPrefix("its manifest asks for \(text),") == true,
        "'\(text)' gave \(problem ?? "no problem")")
    }
  }

  /// Copies of the hello image (renamed, so that they may load beside it) whose manifests
  /// ask for an absurd heap, or for fewer frames than their image and heap take, are
  /// refused with the reason, and leave nothing behind.
  static func imagesOverTheirQuotasAreRefused(_ t: inout TestContext) {
    guard let hello = DomainManager.lookup("hello") else {
      t.expect(false, "no hello image")
      return
    }
    var renamed = Array(hello.image)
    guard let name = DomainTests.find(Array("name=hello\n".utf8), in: renamed),
      let heap = DomainTests.find(Array("heapKiB=256\n".utf8), in: renamed)
    else {
      t.expect(false, "the hello image's manifest is not as expected")
      return
    }
    renamed[name + 9] = UInt8(ascii: "x")  // "hellx"
    let count = DomainManager.domains.count
    let framesBefore = Frames.statistics.freeFrames

    var absurdHeap = renamed
    absurdHeap.replaceSubrange(heap..<(heap + 11), with: Array("heapKiB=-25".utf8))
    let absurd = absurdHeap.withUnsafeBytes { DomainManager.create(name: "hellx", image: $0) }
    t.expect(
      absurd.error?.message.hasPrefix("its manifest asks for heapKiB=-25") == true,
      "an absurd heap: \(absurd.error?.message ?? "loaded")")

    // The generator may write a `frames` line; without one, "imports=" (hello imports
    // nothing) makes room for it.
    var fewFrames = renamed
    if let frames = DomainTests.find(Array("frames=1024\n".utf8), in: renamed) {
      fewFrames.replaceSubrange(frames..<(frames + 11), with: Array("frames=0009".utf8))
    } else if let imports = DomainTests.find(Array("imports=\n".utf8), in: renamed) {
      fewFrames.replaceSubrange(imports..<(imports + 8), with: Array("frames=9".utf8))
    } else {
      t.expect(false, "no room in the manifest for a frames quota")
    }
    let over = fewFrames.withUnsafeBytes { DomainManager.create(name: "hellx", image: $0) }
    let message = over.error?.message ?? "loaded"
    t.expect(
      message.hasPrefix("it needs ") && message.hasSuffix("over its quota of 9"),
      "too few frames: \(message)")
    t.expect(DomainManager.domains.count == count, "a refused image left a domain behind")
    t.expect(
      Frames.statistics.freeFrames == framesBefore,
      "\(framesBefore - Frames.statistics.freeFrames) frames not given back")
  }

  /// A domain spins as many threads as its quota lets it; the kernel's sleeps still end on
  /// time, because domain threads run below every kernel thread. Once they end, the quota
  /// and their frames are back.
  static func spinningThreadsDoNotStarve(_ t: inout TestContext) {
    guard let (background, crasher) = background(&t) else { return }
    waitForThreads(of: crasher, toDropTo: 0)
    let quota = crasher.manifest.threads
    let room = quota - crasher.liveThreads
    let heapBefore = KernelHeap.statistics
    let framesBefore = Frames.statistics.freeFrames
    let framesInUse = crasher.framesInUse

    let started = background.startSpinners(quota + 4, milliseconds: 400)
    t.expect(started == .success(room), "\(DomainTests.describe(started)): room for \(room)")
    t.expect(crasher.liveThreads == quota, "\(crasher.liveThreads) threads, quota \(quota)")
    t.expect(
      crasher.framesInUse == framesInUse + room * Thread.stackFrameCount,
      "threads' frames not counted: \(crasher.framesInUse - framesInUse)")

    let idleBefore = Scheduler.idleTicks
    let clockBefore = CPU.timestamp
    let start = Clock.nanoseconds
    for _ in 0..<10 { Scheduler.sleep(nanoseconds: 1_000_000) }
    let elapsed = Clock.nanoseconds - start
    let idle = Scheduler.idleTicks - idleBefore
    t.expect(
      elapsed < 100_000_000, "ten 1 ms sleeps took \(elapsed / 1_000_000) ms beside the spinners")
    // The spinners had the CPU while the kernel slept: it was not idle, it was theirs.
    t.expect(
      idle * 2 < CPU.timestamp - clockBefore, "the CPU idled: the spinners never ran")

    waitForThreads(of: crasher, toDropTo: quota - room)
    settleWatchdog()
    t.expect(
      crasher.liveThreads == quota - room, "\(crasher.liveThreads) spinners outlived their time")
    t.expect(crasher.framesInUse == framesInUse, "the threads' frames are still counted")
    let slabGrowth = (KernelHeap.statistics.capacity - heapBefore.capacity) / Int(Paging.pageSize)
    t.expect(
      framesBefore - Frames.statistics.freeFrames == slabGrowth,
      "\(framesBefore - Frames.statistics.freeFrames - slabGrowth) frames not returned")
    // The quota is whole again.
    t.expect(
      background.startSpinners(quota + 1, milliseconds: 0) == .success(room),
      "the quota did not come back")
    waitForThreads(of: crasher, toDropTo: quota - room)
  }

  /// Waits (up to 3 s) until `domain` has at most `count` threads not yet reaped.
  static func waitForThreads(of domain: Domain, toDropTo count: Int) {
    let deadline = Clock.nanoseconds + 3_000_000_000
    while domain.liveThreads > count && Clock.nanoseconds < deadline {
      Scheduler.sleep(nanoseconds: 2_000_000)
    }
  }

  /// A domain allocating without end stops at its quota; the kernel and other domains can
  /// still allocate.
  static func sharedHeapQuotaHolds(_ t: inout TestContext) {
    guard let (background, crasher) = background(&t) else { return }
    let quota = crasher.manifest.sharedHeapKiB * 1024
    let held = SharedMemory.accountedBytes(of: crasher.id)
    let start = Clock.nanoseconds
    let hoard = background.hoard()
    guard case .success(let buffers) = hoard else {
      t.expect(
        false,
        "hoard: \(DomainTests.describe(hoard)) after \((Clock.nanoseconds - start) / 1_000_000) ms")
      return
    }
    let charged = SharedMemory.accountedBytes(of: crasher.id)
    // Each buffer costs its 1 KiB, its 64-byte header and the heap block's 16.
    let charge = 1024 + 64 + 16
    t.expect(
      charged <= quota && charged + charge > quota,
      "it holds \(charged) bytes against a quota of \(quota)")
    // At most a block's split remainder more a buffer, when the heap hands out a little more.
    t.expect(
      buffers <= (quota - held) / charge && buffers * (charge + 32) >= quota - held - charge,
      "\(buffers) buffers of \(charge) bytes for \(quota - held) bytes of room")
    t.expect(background.hoard() == .success(buffers), "a second hoard got more")

    // The kernel, and another domain through it, still allocate.
    var letters = 0
    for number in 0..<100 {
      guard let letter = RRef(Letter(number: number)) else { continue }
      letters += letter.value.number == number ? 1 : 0
    }
    t.expect(letters == 100, "the kernel allocated \(letters) of 100 letters")
    guard case .success(let mailbox) = MailboxProxy.connect(), let letter = RRef(Letter(number: 1))
    else {
      t.expect(false, "no Mailbox, or no letter")
      return
    }
    switch mailbox.stamp(letter) {
    case .success(let back): t.expect(back.value.number == 2, "the stamp was lost")
    case .failure: t.expect(false, "a move into the hoarding domain failed")
    }

    t.expect(background.dropHoard().isSuccess, "dropHoard failed")
    t.expect(
      SharedMemory.accountedBytes(of: crasher.id) == held,
      "\(SharedMemory.accountedBytes(of: crasher.id) - held) bytes still charged")
  }

  /// With the heap filled to near the kernel's reserve, a domain gets only what is left
  /// above it, and the kernel still allocates the reserve.
  static func kernelReserveOutlastsDomains(_ t: inout TestContext) {
    guard let (background, _) = background(&t) else { return }
    let chunk = 16 * 1024
    let heap = SharedMemory.heapStatistics
    let ceiling = heap.capacity - SharedMemory.kernelReserve
    var chunks: [UnsafeMutableRawPointer] = []
    // The kernel fills the heap to about 128 KiB below the domains' ceiling.
    while SharedMemory.heapStatistics.bytesInUse + chunk < ceiling - 128 * 1024,
      let payload = swiftletRRefAllocate(chunk, 16, 0)
    {
      chunks.append(payload)
    }
    let room = ceiling - SharedMemory.heapStatistics.bytesInUse
    guard case .success(let buffers) = background.hoard() else {
      t.expect(false, "hoard failed")
      return
    }
    let inUse = SharedMemory.heapStatistics.bytesInUse
    // 1 KiB buffers, each 1,104 bytes with its headers: all that fits above the reserve.
    t.expect(
      buffers <= room / 1104 && buffers + 2 >= room / 1104,
      "the domain got \(buffers) buffers of \(room) bytes of room")
    t.expect(inUse <= ceiling, "the domain took \(inUse - ceiling) bytes of the kernel's reserve")
    var reserved = 0
    while reserved < SharedMemory.kernelReserve - chunk,
      let payload = swiftletRRefAllocate(chunk, 16, 0)
    {
      chunks.append(payload)
      reserved += chunk
    }
    t.expect(
      reserved >= SharedMemory.kernelReserve - chunk,
      "the kernel got only \(reserved / 1024) KiB of its reserve")
    for payload in chunks { swiftletRRefFree(payload) }
    t.expect(background.dropHoard().isSuccess, "dropHoard failed")
  }

  /// A domain writing lines as fast as it can gets its burst and then its rate onto the
  /// console; the rest are counted, and said when lines go out again.
  static func logLinesAreRateLimited(_ t: inout TestContext) {
    guard let (background, crasher) = background(&t) else { return }
    let droppedBefore = crasher.logLimit.dropped
    let pendingBefore = crasher.logLimit.pending
    let bytesBefore = Console.bytesWritten
    let lines = 100
    t.expect(background.flood(lines: lines).isSuccess, "flood failed")
    let dropped = crasher.logLimit.dropped - droppedBefore
    let written = Console.bytesWritten - bytesBefore
    // A burst of 20, and 10 a second while the flood ran (a few milliseconds).
    t.expect(
      dropped >= lines - LogRateLimit.burst - 2, "only \(dropped) of \(lines) lines were dropped")
    let longest = "[info] [crasher] flood line 99\r\n".utf8.count
    t.expect(
      written <= UInt64((lines - dropped) * longest),
      "\(written) bytes reached the console for \(lines - dropped) lines")
    t.expect(
      crasher.logLimit.pending == pendingBefore + dropped, "the dropped lines are not pending")

    // Lines go out again after a while, after one that says how many were dropped.
    Scheduler.sleep(nanoseconds: 250_000_000)
    settleWatchdog()
    let resumed = Console.bytesWritten
    t.expect(background.flood(lines: 1).isSuccess, "flood failed")
    let notice = "[info] [crasher] \(pendingBefore + dropped) lines suppressed\r\n".utf8.count
    let line = "[info] [crasher] flood line 0\r\n".utf8.count
    t.expect(crasher.logLimit.pending == 0, "still \(crasher.logLimit.pending) pending")
    t.expect(
      Log.threshold > .info || Console.bytesWritten - resumed == UInt64(notice + line),
      "\(Console.bytesWritten - resumed) bytes: not the notice and the line")
  }
}
