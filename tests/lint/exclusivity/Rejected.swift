/// Exclusivity violations a hostile domain can write in safe Swift. Each line marked
/// `reject` holds an access that another access overlaps; Embedded Swift would run it
/// unchecked, so scripts/check-exclusivity.py must reject every one of them.

// The attack of issue 11: an `inout` into a class property's array, the property
// reassigned by the callee, the stale element written. The holder here is a local
// object, so the optimizer deletes both accesses and keeps the write into freed memory.
public final class Holder {
  public init() {}
  var items: [Int] = [1, 2, 3]
}

func reassignThenWrite(_ holder: Holder, _ slot: inout Int) {
  holder.items = [0]
  slot = 0x4000_0000_0000_0000
}

public func localHolderAttack() -> Int {
  let holder = Holder()
  reassignThenWrite(holder, &holder.items[0])  // reject
  return holder.items.count
}

// The same with a holder that outlives the call, as a service's state does.
public final class Service {
  public init() {}
  let holder = Holder()
}

public func serviceHolderAttack(_ service: Service) {
  reassignThenWrite(service.holder, &service.holder.items[1])  // reject
}

// A closure that reassigns the property gets an `inout` into it.
public func closureAttack(_ holder: Holder) {
  let clobber: (inout Int) -> Void = { slot in
    holder.items = []
    slot = 7
  }
  clobber(&holder.items[0])  // reject
}

// A call the optimizer cannot see into: a closure kept in a class property.
public final class Widget {
  public init() {}
  var values: [Int] = [1, 2, 3]
  var hook: () -> Void = {}
}

func callHookThenWrite(_ slot: inout Int, _ widget: Widget) {
  widget.hook()
  slot = 9
}

public func opaqueCallAttack(_ widget: Widget) {
  widget.hook = { widget.values = [] }
  callHookThenWrite(&widget.values[0], widget)  // reject
}

// Two references to one object: swap(&a.x, &a.x) that no static check can see.
public func swapThroughTwoReferences(_ first: Holder, _ second: Holder) {
  swap(&first.items, &second.items)  // reject
}

// A mutating method on a struct stored in a class calls back into its owner.
struct Tally {
  var counts: [Int] = [0, 0]

  mutating func bump(_ owner: Owner) {
    owner.reset()
    counts[0] += 1
  }
}

public final class Owner {
  public init() {}
  var tally = Tally()
  func reset() { tally = Tally() }
}

public func mutatingMethodAttack(_ owner: Owner) {
  owner.tally.bump(owner)  // reject
}

// A didSet observer: `inout` through a property with an observer, reassigned inside.
public final class Observed {
  public init() {}
  var onChange: () -> Void = {}
  var items: [Int] = [1, 2, 3] {
    didSet { onChange() }
  }
}

func reassignObservedThenWrite(_ slot: inout Int, _ observed: Observed) {
  observed.items = []
  slot = 5
}

public func observerAttack(_ observed: Observed) {
  reassignObservedThenWrite(&observed.items[0], observed)  // reject
}

// A coroutine accessor keeps the access to its storage open while the caller runs.
public final class Yielding {
  public init() {}
  var storage: [Int] = [1, 2, 3]
  var view: [Int] {
    get { storage }
    _modify { yield &storage }
  }
}

func reassignStorageThenWrite(_ slot: inout Int, _ yielding: Yielding) {
  yielding.storage = []
  slot = 5
}

public func coroutineAttack(_ yielding: Yielding) {
  reassignStorageThenWrite(&yielding.view[0], yielding)  // reject
}

// A local variable captured by an escaping closure lives in a box, checked like a
// class property.
public final class Hooks {
  public init() {}
  var hook: () -> Void = {}
}

func runHookThenWrite(_ slot: inout Int, _ hooks: Hooks) {
  hooks.hook()
  slot = 9
}

public func capturedVariableAttack() -> Int {
  var items = [1, 2, 3]
  let hooks = Hooks()
  hooks.hook = { items = [] }
  runHookThenWrite(&items[0], hooks)  // reject
  return items.count
}

// A value whose deinit runs code is dropped inside the access that replaces it.
public struct Token: ~Copyable {
  let onDrop: () -> Void
  public init(onDrop: @escaping () -> Void) { self.onDrop = onDrop }
  deinit { onDrop() }
}

public final class Keeper {
  public init() {}
  var token: Token? = nil

  public func replace(_ token: consuming Token) {
    self.token = consume token  // reject
  }
}
