/// Events a domain's threads wait for and signal, and the boot options a domain may read.
///
/// A domain's threads need to wait for each other: a call waiting for data another
/// thread delivers (a socket's datagrams in the network stack) must give the domain
/// back while it waits, or the thread that delivers could never enter. An event is a
/// count: `signal` adds one and wakes every waiter, and a wait returns once the count
/// has moved past what the waiter saw last, so a signal between looking and waiting is
/// never lost. Each domain has its own `DomainEvents.capacity` events, numbered from 0;
/// a domain names only its own (the number indexes the calling domain's table).

import BootInfo

final class DomainEvents {
  static let capacity = 64

  /// Made on first use, all at once: most domains use none, and one that uses some
  /// holds the same kernel memory from then on, whichever it uses later (the fault
  /// campaign compares the kernel heap before and after).
  private var events: [InterruptEvent] = []

  /// Event `number`; nil if the number is out of range.
  func event(_ number: Int) -> InterruptEvent? {
    guard number >= 0 && number < Self.capacity else { return nil }
    if events.isEmpty { events = (0..<Self.capacity).map { _ in InterruptEvent() } }
    return events[number]
  }

  /// Wakes every waiter of every event (the domain died: they leave, to unwind).
  /// Allocates nothing: safe on the crash path.
  func wakeAll() {
    for event in events { event.signal() }
  }
}

/// Adds one to the calling domain's event `number` and wakes its waiters; negative if
/// there is no such event.
@_cdecl("swiftlet_event_signal")
func swiftletEventSignal(_ number: Int) -> Int64 {
  guard let event = DomainManager.current?.events.event(number) else { return -1 }
  event.signal()
  return Int64(truncatingIfNeeded: event.count)
}

/// Waits until the calling domain's event `number` has a count other than `seen`, or
/// `timeoutNanoseconds` have passed, with the domain given back meanwhile; returns the
/// count (`seen` if the time ran out), or negative if there is no such event.
@_cdecl("swiftlet_event_wait")
func swiftletEventWait(_ number: Int, _ seen: UInt64, _ timeoutNanoseconds: UInt64) -> Int64 {
  guard let event = DomainManager.current?.events.event(number) else { return -1 }
  var count = event.count
  // Already moved on, or no time to wait: the domain is not given back.
  if count == seen && timeoutNanoseconds > 0 {
    let deadline = Clock.nanoseconds &+ min(timeoutNanoseconds, maximumWait)
    DomainHolding.away { count = event.wait(after: seen, until: deadline) }
  }
  return Int64(truncatingIfNeeded: count & UInt64(Int64.max))
}

/// Copies the value of boot option `name` (the `value` of `name=value` on the kernel
/// command line, empty for a bare `name`) into `buffer`; returns its length, -1 if the
/// option is absent, -2 if the value is longer than `capacity`. The command line is no
/// secret: any domain may read it. Only the trusted library calls this, with its own
/// buffers (domains/lib/Domain.swift).
@_cdecl("swiftlet_boot_option")
func swiftletBootOption(
  _ name: UnsafePointer<UInt8>?, _ nameLength: Int, _ buffer: UnsafeMutablePointer<UInt8>?,
  _ capacity: Int
) -> Int64 {
  guard let name, nameLength > 0, nameLength <= 64, let buffer, capacity >= 0 else { return -1 }
  let wanted = Array(UnsafeBufferPointer(start: name, count: nameLength))
  for word in Kernel.bootInfo.commandLine.utf8.split(separator: UInt8(ascii: " ")) {
    let key = word.prefix { $0 != UInt8(ascii: "=") }
    guard key.elementsEqual(wanted) else { continue }
    let value = word.dropFirst(key.count + (key.count < word.count ? 1 : 0))
    guard value.count <= capacity else { return -2 }
    for (index, byte) in value.enumerated() { buffer[index] = byte }
    return Int64(value.count)
  }
  return -1
}
