/// Which descriptors of a ring the device holds: a run from `head`, `count` long, in
/// the driver's own memory (the device's head register is never trusted for it).
///
/// The driver hands the device descriptors at the tail and takes them back, in the same
/// order, at the head. The device owns those between its head and the tail register, so
/// one descriptor always stays out: a tail equal to the head would mean an empty ring.
struct DescriptorRing: Equatable {
  let size: Int
  /// The oldest descriptor the device holds (the next to take back).
  private(set) var head = 0
  /// How many descriptors the device holds.
  private(set) var count = 0

  init(size: Int) {
    precondition(size >= 8, "e1000: a ring of fewer than 8 descriptors")
    self.size = size
  }

  /// Where the next descriptor handed to the device goes; also the tail register's value.
  var tail: Int { (head + count) % size }
  /// How many more descriptors the device can take.
  var room: Int { size - 1 - count }
  var isEmpty: Bool { count == 0 }

  /// Hands the tail descriptor to the device; returns its index.
  mutating func push() -> Int {
    precondition(room > 0, "e1000: a descriptor pushed onto a full ring")
    let index = tail
    count += 1
    return index
  }

  /// Takes the head descriptor back from the device; returns its index.
  mutating func pop() -> Int {
    precondition(count > 0, "e1000: a descriptor taken from an empty ring")
    let index = head
    head = (head + 1) % size
    count -= 1
    return index
  }
}
