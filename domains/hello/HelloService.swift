/// The greeting service: counts greetings in its own heap-free state.
import SwiftletInterfaces
import SwiftletLib

final class HelloService: Greeter {
  private var greetings = 0

  func ping() -> Result<Void, RpcError> { .success(()) }

  func greet(_ caller: Int) -> Result<Int, RpcError> {
    FaultInjection.checkpoint(.demoCall)
    greetings += 1
    return .success(greetings)
  }
}
