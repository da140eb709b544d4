// The TestClient interface: a domain that calls the others, for nested-call tests.
import SwiftletLib

/// A domain that drives the others (domains/client): nested calls for the tests.
/// Errors: as every call, plus `.failed(code:)` with the code of the step that went
/// wrong (documented per method).
public protocol TestClient {
  /// Calls Greeter.greet `times` times; returns the last greeting count.
  func greetMany(_ times: Int) -> Result<Int, RpcError>

  /// Asks Crasher to crash as `kind` (a nested call: kernel -> client -> crasher), then
  /// checks it sees the error and can go on: returns the crasher's error, or
  /// `.failed(code: 1)` if the crash call succeeded.
  func crashThroughMe(_ kind: CrashKind) -> Result<Int, RpcError>
}
