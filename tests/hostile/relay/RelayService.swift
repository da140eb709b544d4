/// A well-behaved domain between the hostile domain and itself: its counts must come
/// through every attack that passes through it intact.
import SwiftletInterfaces
import SwiftletLib

final class RelayService: Relay {
  private var bounces = 0
  private var pings = 0
  private var total = 0

  func bounce() -> Result<Int, RpcError> {
    guard case .success(let hostile) = HostileProxy.connect() else {
      return .failure(.notConnected)
    }
    let outcome = hostile.trap()
    bounces += 1
    switch outcome {
    case .success: return .success(0)
    case .failure(let error): return .success(Int(error.status))
    }
  }

  func ping() -> Result<Int, RpcError> {
    pings += 1
    return .success(pings)
  }

  func slowAdd() -> Result<Int, RpcError> {
    let seen = total
    let until = DomainKernel.nanoseconds + 50_000
    while DomainKernel.nanoseconds < until {}
    total = seen + 1
    return .success(total)
  }

  func slowValue(milliseconds: Int) -> Result<RRef<Int>, RpcError> {
    guard let value = RRef(milliseconds) else { return .failure(.failed(code: 1)) }
    let until = DomainKernel.nanoseconds + UInt64(milliseconds) * 1_000_000
    while DomainKernel.nanoseconds < until {}
    return .success(value)
  }

  func served() -> Result<Int, RpcError> { .success(bounces << 32 | pings) }
}
