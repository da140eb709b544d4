/// The ARP cache and the resolutions in progress: which MAC address each neighbour has,
/// for how long that is believed, and which addresses are being asked for.
///
/// Both are small fixed tables: a flood of ARP traffic can only replace entries, never
/// grow the stack's memory (and plain values in place, no heap, keep the stack's state
/// free of anything the exclusivity check cannot see through). An entry lives
/// `entryLifetime` after it was last confirmed; a resolution asks `requestAttempts`
/// times, `requestInterval` apart, and then says the address is unreachable for
/// `failureHoldTime`, so that every datagram waiting for it learns so before a new
/// resolution starts.

public struct ARPCache {
  public struct Entry: Equatable, Sendable {
    public var address: IPv4Address
    public var mac: MACAddress
    public var expiresAt: UInt64
  }

  /// What resolving an address found.
  public enum Lookup: Equatable {
    case resolved(MACAddress)
    /// Asked for and not answered yet: ask again later.
    case pending
    /// Asked for and never answered (or no room to ask): unreachable for now.
    case failed
  }

  struct Resolution {
    var address: IPv4Address
    var attempts: Int
    /// When the next request is due; or, once `attempts` is spent, when the failure ends.
    var nextEventAt: UInt64

    var isFailed: Bool { attempts >= ARPCache.requestAttempts }
  }

  public static var capacity: Int { 16 }
  public static var resolutionCapacity: Int { 4 }
  public static var entryLifetime: UInt64 { 60 * StackTime.second }
  static var requestAttempts: Int { 3 }
  static var requestInterval: UInt64 { StackTime.second }
  static var failureHoldTime: UInt64 { 3 * StackTime.second }

  private var entries = InlineArray<16, Entry?>(repeating: nil)
  private var resolutions = InlineArray<4, Resolution?>(repeating: nil)
  /// When `poll` next has something to do, kept up to date by every change: the stack
  /// asks for it on every round and every send.
  public private(set) var nextDeadline = UInt64.max
  /// The slot `resolve` last found an address in: a hint, checked before it is used.
  private var lastResolved = 0

  public init() {}

  @inline(__always)
  func index(of address: IPv4Address) -> Int? {
    let table = entries.span
    for index in table.indices where table[index]?.address == address { return index }
    return nil
  }

  @inline(__always)
  func resolutionIndex(of address: IPv4Address) -> Int? {
    let table = resolutions.span
    for index in table.indices where table[index]?.address == address { return index }
    return nil
  }

  /// The live entry for `address`, if any.
  @inline(__always)
  public func mac(for address: IPv4Address, now: UInt64) -> MACAddress? {
    guard let index = index(of: address), let entry = entries.span[index], entry.expiresAt > now
    else { return nil }
    return entry.mac
  }

  /// Records `address` at `mac` for another lifetime. When the cache is full, the entry
  /// closest to expiring gives way. Ends a resolution of the address.
  @inline(__always)
  public mutating func insert(_ address: IPv4Address, _ mac: MACAddress, now: UInt64) {
    if let index = resolutionIndex(of: address) { resolutions[index] = nil }
    let entry = Entry(
      address: address, mac: mac, expiresAt: StackTime.after(now, Self.entryLifetime))
    entries[slot(for: address)] = entry
    updateDeadline()
  }

  /// Where an entry for `address` goes: its own, else a free one, else the one closest
  /// to expiring.
  @inline(__always)
  func slot(for address: IPv4Address) -> Int {
    var slot = 0
    var slotExpiry = UInt64.max
    let table = entries.span
    for index in table.indices {
      guard let existing = table[index] else {
        if slotExpiry > 0 {
          slot = index
          slotExpiry = 0
        }
        continue
      }
      if existing.address == address {
        slot = index
        break
      }
      if existing.expiresAt < slotExpiry {
        slot = index
        slotExpiry = existing.expiresAt
      }
    }
    return slot
  }

  /// Updates the entry for `address` if there is one (RFC 826's merge step); whether
  /// there was.
  @inline(__always)
  public mutating func refresh(_ address: IPv4Address, _ mac: MACAddress, now: UInt64) -> Bool {
    guard let index = index(of: address) else { return false }
    entries[index] = Entry(
      address: address, mac: mac, expiresAt: StackTime.after(now, Self.entryLifetime))
    updateDeadline()
    return true
  }

  @inline(__always)
  func freeResolutionSlot() -> Int? {
    let table = resolutions.span
    for index in table.indices where table[index] == nil { return index }
    return nil
  }

  /// The MAC address of `address`, starting a resolution if there is none yet; `poll`
  /// then says when to send its requests.
  @inline(__always)
  public mutating func resolve(_ address: IPv4Address, now: UInt64) -> Lookup {
    // Most sends go where the last one went (the gateway, the one peer): look there first.
    if let entry = entries.span[lastResolved], entry.address == address, entry.expiresAt > now {
      return .resolved(entry.mac)
    }
    if let index = index(of: address), let entry = entries.span[index], entry.expiresAt > now {
      lastResolved = index
      return .resolved(entry.mac)
    }
    if let index = resolutionIndex(of: address), let resolution = resolutions.span[index] {
      return resolution.isFailed ? .failed : .pending
    }
    guard let free = freeResolutionSlot() else { return .failed }
    resolutions[free] = Resolution(address: address, attempts: 0, nextEventAt: now)
    updateDeadline()
    return .pending
  }

  /// Drops what expired by `now`, and returns an address whose ARP request is due
  /// (counting the attempt), or nil when none is.
  @inline(__always)
  public mutating func poll(now: UInt64) -> IPv4Address? {
    for index in entries.indices {
      if let entry = entries.span[index], entry.expiresAt <= now { entries[index] = nil }
    }
    var due: IPv4Address?
    for index in resolutions.indices {
      guard var resolution = resolutions.span[index], resolution.nextEventAt <= now else {
        continue
      }
      if resolution.isFailed {
        resolutions[index] = nil
        continue
      }
      guard due == nil else { continue }
      resolution.attempts += 1
      resolution.nextEventAt = StackTime.after(
        now, resolution.isFailed ? Self.failureHoldTime : Self.requestInterval)
      resolutions[index] = resolution
      due = resolution.address
    }
    updateDeadline()
    return due
  }

  @inline(__always)
  mutating func updateDeadline() {
    var deadline = UInt64.max
    let table = entries.span
    for index in table.indices {
      if let entry = table[index] { deadline = min(deadline, entry.expiresAt) }
    }
    let asked = resolutions.span
    for index in asked.indices {
      if let resolution = asked[index] { deadline = min(deadline, resolution.nextEventAt) }
    }
    nextDeadline = deadline
  }

  /// The `position`th entry (0 up), in table order; nil past the last.
  @inline(__always)
  public func entry(at position: Int) -> Entry? {
    var seen = 0
    let table = entries.span
    for index in table.indices {
      guard let entry = table[index] else { continue }
      if seen == position { return entry }
      seen += 1
    }
    return nil
  }

  public var count: Int {
    var count = 0
    let table = entries.span
    for index in table.indices where table[index] != nil { count += 1 }
    return count
  }
}
