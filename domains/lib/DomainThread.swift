/// Threads of a domain's own: work that runs in the domain outside any call.
///
/// A domain thread runs in the domain (its allocations come from the domain's heap).
/// If it traps, the domain crashes and all its threads end; a restart starts none of
/// them again. It runs at the same time as calls into the domain and as its other
/// threads, so its body is `@Sendable`: the compiler refuses one that captures the
/// service's (non-Sendable) state, as it would for any other thread. State they share
/// must be Sendable, such as a SharedCounter.
@_extern(c, "swiftlet_spawn") func kernelSpawn(_ entry: UInt, _ argument: UInt) -> Int32
@_extern(c, "swiftlet_sleep_ns") func kernelSleep(_ nanoseconds: UInt64)
@_extern(c, "swiftlet_yield") func kernelYield()

public enum DomainThread {
  /// Runs `body` on a new thread of this domain; false if the kernel has no room.
  public static func spawn(_ body: @escaping @Sendable () -> Void) -> Bool {
    let box = ThreadBody(body)
    let argument = unsafe UInt(bitPattern: Unmanaged.passRetained(box).toOpaque())
    let entry = unsafe unsafeBitCast(threadEntry, to: UInt.self)
    guard kernelSpawn(entry, argument) >= 0 else {
      unsafe Unmanaged<ThreadBody>.fromOpaque(UnsafeRawPointer(bitPattern: argument)!).release()
      return false
    }
    return true
  }

  public static func sleep(nanoseconds: UInt64) { kernelSleep(nanoseconds) }

  public static func yield() { kernelYield() }
}

final class ThreadBody {
  let body: @Sendable () -> Void
  init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// What the kernel's new thread calls, in the domain, with the boxed body.
private let threadEntry: @convention(c) (UInt) -> Void = { argument in
  let box = unsafe Unmanaged<ThreadBody>.fromOpaque(UnsafeRawPointer(bitPattern: argument)!)
    .takeRetainedValue()
  box.body()
}
