/// Drives the other domains from inside a domain, so the tests see nested calls.
import SwiftletInterfaces
import SwiftletLib

final class TestClientService: TestClient {
  func greetMany(_ times: Int) -> Result<Int, RpcError> {
    let greeter: GreeterProxy
    switch GreeterProxy.connect() {
    case .success(let proxy): greeter = proxy
    case .failure(let error): return .failure(error)
    }
    var last = 0
    for caller in 0..<times {
      switch greeter.greet(caller) {
      case .success(let count):
        last = count
        FaultInjection.checkpoint(.demoCall)  // with a nested call done
      case .failure(let error): return .failure(error)
      }
    }
    return .success(last)
  }

  func crashThroughMe(_ kind: CrashKind) -> Result<Int, RpcError> {
    let crasher: CrasherProxy
    switch CrasherProxy.connect() {
    case .success(let proxy): crasher = proxy
    case .failure(let error): return .failure(error)
    }
    switch crasher.crash(kind) {
    case .success: return .failure(.failed(code: 1))
    case .failure(let error):
      // This domain goes on after its callee crashed: report what happened.
      return .success(error == .timedOut ? 2 : (error == .domainCrashed ? 1 : 3))
    }
  }
}
