/// Class properties used the ordinary way: scripts/check-exclusivity.py must accept all
/// of it, since no access here can overlap another.

public final class Inventory {
  public init() {}
  var counts: [Int] = [0, 0, 0]
  var total = 0
  var level = 0 {
    didSet { total += 1 }
  }
  var onChange: () -> Void = {}
  var stats = Stats()
  var token: Token? = nil

  func add(_ amount: Int, at index: Int) {
    counts[index] += amount
    total += amount
  }
}

struct Stats {
  var samples: [Int] = []
  mutating func record(_ value: Int) { samples.append(value) }
}

public struct Token: ~Copyable {
  let onDrop: () -> Void
  public init(onDrop: @escaping () -> Void) { self.onDrop = onDrop }
  deinit { onDrop() }
}

func bump(_ values: inout [Int], _ inventory: Inventory) {
  inventory.total += 1
  values.append(inventory.total)
}

public func useInventory(_ inventory: Inventory) -> Int {
  inventory.add(2, at: 1)
  inventory.counts.append(inventory.total)
  for index in inventory.counts.indices { inventory.counts[index] &+= 1 }
  // `counts.sort()` in place would be rejected: the standard library's sort calls its
  // comparison through a closure parameter while the access is open.
  inventory.counts = inventory.counts.sorted()
  inventory.level += 1
  inventory.stats.record(inventory.total)
  // Copy the closure out, then call it: no access is open during the call.
  let onChange = inventory.onChange
  onChange()
  // Copy out, call, write back.
  var copy = inventory.counts
  bump(&copy, inventory)
  inventory.counts = copy
  return inventory.counts.reduce(0, &+)
}

// The old token is swapped out and dropped once the access has ended.
public func replaceToken(_ inventory: Inventory, _ token: consuming Token) {
  var replaced: Token? = consume token
  swap(&inventory.token, &replaced)
}

// A computed property reads into a temporary and writes it back: the callee changes the
// storage in between, but holds no address into it.
public final class Computed {
  public init() {}
  var storage: [Int] = [1, 2, 3]
  var view: [Int] {
    get { storage }
    set { storage = newValue }
  }
}

func reassignStorageThenWrite(_ slot: inout Int, _ computed: Computed) {
  computed.storage = []
  slot = 5
}

public func computedRoundTrip(_ computed: Computed) {
  reassignStorageThenWrite(&computed.view[0], computed)
}
