// Claims the compiler takes on trust: unsafe declarations and unchecked concurrency.

@unsafe
func trustMe() -> Int { 0 }

@safe
func alsoTrustMe() -> Int { 1 }

final class Shared: @unchecked Sendable {
  var count = 0
}

nonisolated(unsafe) var sharedCounter = 0

final class Node {
  unowned(unsafe) var parent: Node
  init(parent: Node) { unsafe self.parent = parent }
}

@preconcurrency
protocol LegacyDelegate: AnyObject {}

final class RegisterFile {
  @exclusivity(unchecked) var value = 0
}
