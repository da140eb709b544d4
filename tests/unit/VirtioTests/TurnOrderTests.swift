/// Tests of the order in which a driver's calls get the device: first come, first
/// served; a waiter that gives up leaves no gap; and a full queue refuses at once.
import Testing
import Virtio

struct TurnOrderTests {
  /// A ticket, which must be given.
  private func take(_ queue: TurnOrder) throws -> TurnOrder.Ticket { try queue.take().get() }

  private func refuses(_ queue: TurnOrder) -> Bool {
    queue.take() == .failure(.full(capacity: 64))
  }

  @Test func theFirstTicketHoldsTheTurnAtOnce() throws {
    let queue = TurnOrder()
    let only = try take(queue)
    #expect(queue.holds(only) && queue.waiting == 0)
    #expect(!queue.leave(only), "nobody waits: nobody to wake")
    #expect(queue.count == 0)
  }

  @Test func theTurnGoesToTheOldestWaiter() throws {
    let queue = TurnOrder()
    let holder = try take(queue)
    let waiters = try (0..<5).map { _ in try take(queue) }
    #expect(queue.waiting == 5)
    var current = holder
    for next in waiters {
      #expect(!queue.holds(next))
      #expect(queue.leave(current), "the turn passed on: its waiter must be woken")
      #expect(queue.holds(next) && !queue.holds(current))
      current = next
    }
    #expect(!queue.leave(current) && queue.count == 0)
  }

  /// The starvation the order is for: whoever gives the turn back asks again at once,
  /// before any waiter has run (a kernel thread outranks the domain threads waiting;
  /// a hammering caller is straight back). The turn still goes round, each caller in
  /// the order it came.
  @Test func callersComingStraightBackTakeTurnsRoundRobin() throws {
    let queue = TurnOrder()
    var callers = try (0..<3).map { _ in try take(queue) }
    var served = [0, 0, 0]
    for round in 0..<300 {
      let turn = round % 3
      #expect(queue.holds(callers[turn]))
      #expect(callers.indices.filter { queue.holds(callers[$0]) } == [turn])
      served[turn] += 1
      #expect(queue.leave(callers[turn]), "two others wait: the turn passes")
      callers[turn] = try take(queue)
      #expect(!queue.holds(callers[turn]))
    }
    #expect(served == [100, 100, 100])
  }

  @Test func aWaiterThatWithdrawsIsNeverHandedTheTurn() throws {
    let queue = TurnOrder()
    let holder = try take(queue)
    let gone = try take(queue)
    let next = try take(queue)
    let last = try take(queue)
    #expect(!queue.leave(gone), "a waiter leaving does not move the turn")
    #expect(queue.holds(holder) && queue.waiting == 2)
    #expect(queue.leave(holder))
    #expect(queue.holds(next) && !queue.holds(gone))
    #expect(queue.leave(next))
    #expect(queue.holds(last))
    #expect(!queue.leave(gone), "a ticket that left already changes nothing")
    #expect(queue.holds(last) && queue.count == 1)
  }

  @Test func withdrawalsKeepTheOrderOfTheRest() throws {
    let queue = TurnOrder()
    // Wrap the ring first, so the queue straddles its end.
    for _ in 0..<(TurnOrder.capacity - 3) { _ = queue.leave(try take(queue)) }
    let holder = try take(queue)
    let waiters = try (0..<10).map { _ in try take(queue) }
    for gone in [waiters[0], waiters[4], waiters[9]] { #expect(!queue.leave(gone)) }
    let staying = [waiters[1], waiters[2], waiters[3]] + waiters[5...8]
    var current = holder
    for next in staying {
      #expect(queue.leave(current))
      #expect(queue.holds(next))
      current = next
    }
    #expect(!queue.leave(current) && queue.count == 0)
  }

  @Test func theLastWaiterWithdrawingLeavesTheHolderAlone() throws {
    let queue = TurnOrder()
    let holder = try take(queue)
    let waiter = try take(queue)
    #expect(!queue.leave(waiter))
    #expect(!queue.leave(holder), "nobody waits any more: nobody to wake")
    let later = try take(queue)
    #expect(queue.holds(later), "an empty queue gives the next caller the turn at once")
  }

  @Test func aFullQueueRefusesAndTakesAgainOnceOneLeaves() throws {
    let queue = TurnOrder()
    let tickets = try (0..<TurnOrder.capacity).map { _ in try take(queue) }
    #expect(queue.count == 64)
    #expect(refuses(queue))
    #expect(queue.holds(tickets[0]), "a refusal changes nothing")
    #expect(!queue.leave(tickets[30]))
    let late = try take(queue)
    #expect(refuses(queue))
    var current = tickets[0]
    for next in tickets[1...].filter({ $0 != tickets[30] }) + [late] {
      #expect(queue.leave(current))
      #expect(queue.holds(next))
      current = next
    }
    #expect(!queue.leave(current) && queue.count == 0)
  }
}
