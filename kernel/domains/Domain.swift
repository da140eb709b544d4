/// A domain: one isolated component, loaded from its image, with its own heap.
///
/// Everything a domain has is here, so destroying it gives everything back: the frames
/// its image was loaded into and the pristine copy a restart is made from, its private
/// heap (frames too), and its export slots (marked stopped, so calls fail cleanly
/// instead of running freed code). The image it came from (the boot module) stays, so
/// the domain can be created again from it.
import Memory

final class Domain {
  enum State: Equatable {
    /// Its init is running: its export slots open only once it returns.
    case starting
    case running
    /// Down until a caller's `recover()` restarts it (after its backoff, RestartBackoff).
    case crashed
    /// Given up after a crash loop: held stopped until the kernel restarts it.
    case failed
    case destroyed

    /// Its name in the shell's `domains` and the fault campaign's lines.
    var name: StaticString {
      switch self {
      case .starting: "starting"
      case .running: "running"
      case .crashed: "crashed"
      case .failed: "failed"
      case .destroyed: "destroyed"
      }
    }
  }

  let id: DomainID
  let name: String
  /// The image as it came: a boot module, never written.
  let image: UnsafeRawBufferPointer
  var state = State.starting
  var manifest: DomainManifestInfo
  /// Its image in memory, and the pristine copy it restarts from (DomainLoader); nil
  /// once destroyed.
  var loaded: LoadedImage?
  /// Where the image was loaded (frames, identity-mapped) and how many frames.
  var loadedAt: PhysicalFrame? { loaded?.frames }
  var loadedFrames: Int { loaded?.frameCount ?? 0 }
  /// The frames of its pristine copy: the kernel's, not charged to its `frames` quota
  /// (the copy is as large as the image the quota already counts once).
  var pristineFrames: Int { loaded?.pristineFrames ?? 0 }
  /// The private heap and the frames it lives in.
  private var heap = FreeListHeap()
  var heapFrames: PhysicalFrame?
  var heapFrameCount = 0
  /// The export slot of each method of each exported interface, and the slot that runs
  /// init.
  var exportSlots: [(interface: String, slot: Int)] = []
  var controlSlot = -1
  /// Threads waiting to run the domain while another runs it (DomainHolding).
  let holderQueue = WaitQueue()
  var crashes = 0
  var restarts = 0
  /// When it may be restarted after crashing, and whether to give it up.
  var backoff = RestartBackoff()
  /// Why it crashed last (for the shell).
  var lastCrash: TextLine = ""
  /// Whether the last crash was the watchdog's (a call over its budget).
  var lastCrashTimedOut = false
  /// Crashes for calling the kernel with too little stack left (DomainManager).
  var stackExhaustions = 0
  /// The life (`restarts`) in which the fault campaign flipped a bit of its image. Safe
  /// Swift cannot jump into kernel code, but a flipped code pointer (a GOT entry, an
  /// object's) can: until this life ends, a trap in kernel code on its thread may be its
  /// own doing, not a failed kernel check (`DomainManager.handleException`).
  var corruptedLife: Int?
  /// Its threads of this life not reaped yet: each holds a stack of frames until then
  /// (DomainManager.spawnThread counts them, the scheduler's reaping uncounts). What its
  /// `threads` quota limits.
  var liveThreads = 0
  /// Threads of earlier lives not reaped yet: unwound by its crash or restart, they leave
  /// as soon as they run again (one blocked in another domain's call, once that call
  /// returns), and never run its code again (DomainHolding checks the life). They do not
  /// count against the new life's quotas: a restarted domain whose old thread is still
  /// on its way out could otherwise not start its own. Restart backoff bounds how many
  /// lives can leave threads behind.
  var departingThreads = 0
  /// Whether its code may be running: its init or its calls and threads.
  var isLive: Bool { state == .running || state == .starting }
  /// How often a quota refused it something; the first few are logged.
  var quotaRefusals = 0
  /// Its log lines' budget (swiftlet_log).
  var logLimit = LogRateLimit()
  /// What its threads wait for and signal (swiftlet_event_wait).
  let events = DomainEvents()

  init(id: DomainID, name: String, image: UnsafeRawBufferPointer) {
    self.id = id
    self.name = name
    self.image = image
    manifest = DomainManifestInfo()
  }

  func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
    withInterruptsDisabled { heap.allocate(size: size, alignment: alignment) }
  }

  func free(_ pointer: UnsafeMutableRawPointer) {
    let failure = withInterruptsDisabled { () -> HeapFreeError? in
      do throws(HeapFreeError) {
        try heap.free(pointer)
        return nil
      } catch {
        return error
      }
    }
    // A bad free from domain code is the domain's bug: it crashes the domain, not the
    // kernel. Trusted runtime code is the only caller, so this means corruption.
    if let failure { Log.error("domain '\(name)': \(failure.message) (\(hex: failure.address))") }
  }

  var heapStatistics: HeapStatistics { withInterruptsDisabled { heap.statistics } }

  /// Frames it holds now: its image, its private heap, its threads' stacks (guard pages
  /// included). What its `frames` quota limits.
  var framesInUse: Int { loadedFrames + heapFrameCount + liveThreads * Thread.stackFrameCount }

  /// Logs that a quota refused the domain something: the first three times, so that a
  /// domain retrying in a loop cannot flood the console with the refusals either.
  func quotaRefused(_ why: TextLine) {
    quotaRefusals += 1
    if quotaRefusals <= 3 { Log.warning("domain '\(name)': \(why)") }
  }

  /// Calls served through all of this domain's exports.
  var calls: UInt64 {
    exportSlots.reduce(0) { $0 + DomainCall.exports[$1.slot].calls }
  }

  /// Gives the private heap its frames.
  func setHeap(_ frames: PhysicalFrame, count: Int) {
    heap = FreeListHeap()
    heapFrames = frames
    heapFrameCount = count
    _ = heap.addRegion(
      base: UnsafeMutableRawPointer(bitPattern: UInt(frames.address))!,
      size: count * Int(Paging.pageSize))
  }

  /// Drops the private heap whole: its frames go back, nothing in it is freed singly.
  func dropHeap() {
    if let frames = heapFrames { Frames.free(frames, count: heapFrameCount) }
    heapFrames = nil
    heapFrameCount = 0
    heap = FreeListHeap()
  }
}

/// What the manifest says about a domain (its `swiftlet_domain_manifest`, from
/// domains/manifest.json through tools/proxygen).
struct DomainManifestInfo {
  var name = ""
  var exports: [String] = []
  var imports: [String] = []
  var heapKiB = 256
  var budgetMilliseconds = 200
  /// Its quotas (docs/DOMAINS.md, "Quotas"): shared-heap bytes it may hold, in KiB; threads
  /// of its own alive at once; frames for its image, private heap and thread stacks.
  var sharedHeapKiB = 1024
  var threads = 8
  var frames = 1024
  /// The PCI device the domain drives, "vendor:device,..." in hex; empty for none.
  var device = ""
  /// Each export's method names in order: they name its entry points and slots.
  var methods: [(interface: String, names: [String])] = []

  init() {}

  func methods(of interface: String) -> [String] {
    methods.first { $0.interface == interface }?.names ?? []
  }

  /// Parses "key=value" lines; unknown keys are ignored, missing ones keep defaults.
  init(parsing text: String) {
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2 else { continue }
      let value = String(parts[1])
      switch parts[0] {
      case "name": name = value
      case "exports": exports = value.split(separator: ",").map { String($0) }
      case "imports": imports = value.split(separator: ",").map { String($0) }
      case "heapKiB": heapKiB = Int(value) ?? heapKiB
      case "budgetMilliseconds": budgetMilliseconds = Int(value) ?? budgetMilliseconds
      case "sharedHeapKiB": sharedHeapKiB = Int(value) ?? sharedHeapKiB
      case "threads": threads = Int(value) ?? threads
      case "frames": frames = Int(value) ?? frames
      case "device": device = value
      case let key where key.hasPrefix("methods."):
        let names = value.split(separator: ",").map { String($0) }
        methods.append((interface: String(key.dropFirst("methods.".count)), names: names))
      default: break
      }
    }
  }

  /// The ranges the kernel accepts for the sizes a manifest declares: beyond them a value is
  /// a mistake (or an attempt to take the machine), refused at load.
  static let heapKiBRange = 4...(256 * 1024)
  static let sharedHeapKiBRange = 0...(64 * 1024)
  static let threadsRange = 0...256
  static let framesRange = 1...(1 << 20)

  /// What is wrong with the sizes the manifest declares, or nil if nothing is.
  var problem: String? {
    let checks: [(StaticString, Int, ClosedRange<Int>)] = [
      ("heapKiB", heapKiB, Self.heapKiBRange),
      ("sharedHeapKiB", sharedHeapKiB, Self.sharedHeapKiBRange),
      ("threads", threads, Self.threadsRange), ("frames", frames, Self.framesRange),
    ]
    for (key, value, range) in checks where !range.contains(value) {
      return
        "its manifest asks for \(key)=\(value), outside \(range.lowerBound)...\(range.upperBound)"
    }
    return nil
  }
}
