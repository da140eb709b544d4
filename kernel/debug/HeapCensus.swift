/// Who holds the kernel heap: every live allocation with its size, when it was made and
/// the calls that made it, while the census is on.
///
/// For leak hunting: the fault campaign starts it before its baseline and, if the heap
/// ends larger than it began, prints what was allocated after the baseline and is still
/// held, with the callers (`HeapCensus.report`). Off, it costs the heap one branch.
///
/// The table lives in frames of its own, not in the heap it watches: open addressing
/// by address, linear probing, deletion by shifting the run back (no tombstones).
import Memory

enum HeapCensus {
  static let callerDepth = 6

  struct Entry {
    var address: UInt64 = 0
    var size = 0
    var serial: UInt64 = 0
    var callers: InlineArray<6, UInt64> = .init(repeating: 0)
  }

  private static let capacity = 16384  // a power of two
  private static let frameCount = (capacity * MemoryLayout<Entry>.stride + 4095) / 4096
  nonisolated(unsafe) private static var table: UnsafeMutablePointer<Entry>?
  nonisolated(unsafe) private(set) static var serial: UInt64 = 0
  nonisolated(unsafe) private(set) static var live = 0
  /// Allocations the table had no room for (the census is then incomplete).
  nonisolated(unsafe) private(set) static var missed = 0

  static var isOn: Bool { table != nil }

  /// Starts counting; allocations made before are not known to it.
  static func start() {
    guard table == nil, let frames = Frames.allocateContiguous(count: frameCount) else { return }
    let entries = UnsafeMutablePointer<Entry>(bitPattern: UInt(frames.address))!
    entries.initialize(repeating: Entry(), count: capacity)
    withInterruptsDisabled { table = entries }
  }

  /// Called by the heap with interrupts disabled.
  static func allocated(_ address: UInt64, size: Int, framePointer: UInt64) {
    guard let table else { return }
    guard live < capacity * 3 / 4 else {
      missed += 1
      return
    }
    serial += 1
    var entry = Entry(address: address, size: size, serial: serial)
    var rbp = framePointer
    for depth in 0..<callerDepth {
      guard Backtrace.isPlausibleFrame(rbp) else { break }
      let frame = UnsafePointer<UInt64>(bitPattern: UInt(rbp))!
      entry.callers[depth] = frame[1]
      guard frame[0] > rbp else { break }
      rbp = frame[0]
    }
    var slot = home(address)
    while table[slot].address != 0 { slot = (slot + 1) & (capacity - 1) }
    table[slot] = entry
    live += 1
  }

  /// Called by the heap with interrupts disabled.
  static func freed(_ address: UInt64) {
    guard let table else { return }
    var slot = home(address)
    while table[slot].address != address {
      guard table[slot].address != 0 else { return }  // made before the census
      slot = (slot + 1) & (capacity - 1)
    }
    // Shift the rest of the run back over the hole, each entry only to where its own
    // home still finds it.
    var hole = slot
    var next = (hole + 1) & (capacity - 1)
    while table[next].address != 0 {
      let wanted = home(table[next].address)
      let distanceToHole = (hole &- wanted) & (capacity - 1)
      let distanceToNext = (next &- wanted) & (capacity - 1)
      if distanceToHole < distanceToNext {
        table[hole] = table[next]
        hole = next
      }
      next = (next + 1) & (capacity - 1)
    }
    table[hole] = Entry()
    live -= 1
  }

  /// Prints every allocation made after `serial` that is still live, with its callers,
  /// up to `limit` of them; returns how many there are.
  @discardableResult
  static func report(since mark: UInt64, limit: Int = 40) -> Int {
    guard let table else { return 0 }
    var found: [Entry] = []
    withInterruptsDisabled {
      for slot in 0..<capacity where table[slot].address != 0 && table[slot].serial > mark {
        if found.count < limit { found.append(table[slot]) }
      }
    }
    for entry in found {
      Console.print("heap: held #\(entry.serial) \(entry.size) bytes at \(hex: entry.address)")
      for depth in 0..<callerDepth where entry.callers[depth] != 0 {
        Backtrace.printFrame(depth, entry.callers[depth] - 1)
      }
    }
    if missed > 0 { Console.print("heap: the census missed \(missed) allocations (table full)") }
    return found.count
  }

  private static func home(_ address: UInt64) -> Int {
    Int(truncatingIfNeeded: ((address >> 4) &* 0x9E37_79B9_7F4A_7C15) >> 50) & (capacity - 1)
  }
}
