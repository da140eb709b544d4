/// Threads of a domain's own: work that runs in the domain outside any call.
///
/// A domain thread runs in the domain (its allocations come from the domain's heap).
/// If it traps, the domain crashes and all its threads end; a restart starts none of
/// them again. It runs at the same time as calls into the domain and as its other
/// threads, so its body is `@Sendable`: the compiler refuses one that captures the
/// service's (non-Sendable) state, as it would for any other thread. State they share
/// must be Sendable, such as a SharedCounter, or handed over with `spawn(sharing:)`.
@_extern(c, "swiftlet_spawn") func kernelSpawn(_ entry: UInt, _ argument: UInt) -> Int32
@_extern(c, "swiftlet_sleep_ns") func kernelSleep(_ nanoseconds: UInt64)
@_extern(c, "swiftlet_yield") func kernelYield()

public enum DomainThread {
  /// Runs `body` on a new thread of this domain; false if the kernel has no room.
  public static func spawn(_ body: @escaping @Sendable () -> Void) -> Bool {
    start(ThreadBody(body))
  }

  private static func start(_ box: ThreadBody) -> Bool {
    let argument = unsafe UInt(bitPattern: Unmanaged.passRetained(box).toOpaque())
    let entry = unsafe unsafeBitCast(threadEntry, to: UInt.self)
    guard kernelSpawn(entry, argument) >= 0 else {
      unsafe Unmanaged<ThreadBody>.fromOpaque(UnsafeRawPointer(bitPattern: argument)!).release()
      return false
    }
    return true
  }

  /// Runs `body` on a new thread of this domain with `object`, an object of the domain
  /// (its service, say) that the thread and the calls into the domain then share; false
  /// if the kernel has no room. Sharing a non-Sendable object among a domain's threads is
  /// safe because they never run the domain's code at once: the kernel lets one thread
  /// at a time into a domain (docs/SECURITY.md, class 9), and a thread gives the domain
  /// back only inside a call to the kernel or to another domain, across which the build
  /// lets no access to the object's state stay open (class 2, docs/EXCLUSIVITY.md). The
  /// network stack's receive thread and its socket calls share the stack this way.
  public static func spawn<Object: AnyObject>(
    sharing object: Object, _ body: @escaping @Sendable (Object) -> Void
  ) -> Bool {
    start(ThreadBody({ body(object) }))
  }

  public static func sleep(nanoseconds: UInt64) { kernelSleep(nanoseconds) }

  public static func yield() { kernelYield() }
}

/// What a new thread runs. Not Sendable: `spawn(sharing:)` puts a domain object in it,
/// which only this domain's threads, one at a time, ever reach.
final class ThreadBody {
  let body: () -> Void
  init(_ body: @escaping () -> Void) { self.body = body }
}

/// What the kernel's new thread calls, in the domain, with the boxed body.
private let threadEntry: @convention(c) (UInt) -> Void = { argument in
  let box = unsafe Unmanaged<ThreadBody>.fromOpaque(UnsafeRawPointer(bitPattern: argument)!)
    .takeRetainedValue()
  box.body()
}
