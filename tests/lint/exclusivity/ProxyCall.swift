/// An outgoing call across domains while an access to the caller's own state is open:
/// the kernel frees the domain for other threads at each outgoing call, so no access may
/// stay open across one (docs/EXCLUSIVITY.md). The line marked `reject` is rejected; the
/// copy-out, call, write-back form after it is accepted.
import SwiftletInterfaces
import SwiftletLib

public final class GreetingLog {
  public init() {}
  var counts: [Int] = [0]
}

func recordGreeting(_ count: inout Int, _ greeter: GreeterProxy) {
  switch greeter.greet(1) {
  case .success(let greetings): count = greetings
  case .failure: count = -1
  }
}

public func holdAccessAcrossProxyCall(_ log: GreetingLog, _ greeter: GreeterProxy) {
  recordGreeting(&log.counts[0], greeter)  // reject
}

public func copyOutCallWriteBack(_ log: GreetingLog, _ greeter: GreeterProxy) {
  var count = log.counts[0]
  recordGreeting(&count, greeter)
  log.counts[0] = count
}
