// The Mailbox interface: RRefs moved and lent across calls, for the ownership tests.
import SwiftletLib

/// A letter: plain data that travels in the shared heap.
public struct Letter: Equatable, BitwiseCopyable {
  public var number: Int
  /// The owner the callee saw in the kernel's registry during the call.
  public var ownerSeen: UInt32
  /// The borrow count the callee saw during the call.
  public var borrowsSeen: UInt32

  public init(number: Int) {
    self.number = number
    ownerSeen = 0
    borrowsSeen = 0
  }
}

/// Errors: every method can return `.domainCrashed`, `.timedOut` or `.unavailable`.
/// Ownership: a moved (`consuming`) letter belongs to the callee during the call and,
/// when returned, to the caller after it; if the callee crashes, it is freed with the
/// callee. A lent (`borrowing`) letter stays the caller's throughout, crash or not.
public protocol Mailbox {
  /// Takes the letter, adds one to its number, notes who owned it, and gives it back.
  func stamp(_ letter: consuming RRef<Letter>) -> Result<RRef<Letter>, RpcError>

  /// Takes the letter and gives it straight back: the cost of moving an RRef in and out.
  func bounce(_ letter: consuming RRef<Letter>) -> Result<RRef<Letter>, RpcError>

  /// Looks at a lent letter: what it holds and what the callee saw.
  func inspect(_ letter: borrowing RRef<Letter>) -> Result<Letter, RpcError>

  /// Keeps the letter in this domain (replacing one kept before); returns its number.
  func keep(_ letter: consuming RRef<Letter>) -> Result<Int, RpcError>

  /// Crashes (a Swift trap) while the letter is lent to it.
  func crashWhileBorrowing(_ letter: borrowing RRef<Letter>) -> Result<Void, RpcError>
}
