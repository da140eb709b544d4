// Writes the shadow of an interface: its proxy wrapped in the recovery policy that
// CodeGenerator's header describes (restart the callee after a crash, retry idempotent
// calls once).

extension CodeGenerator {
  /// The helper every shadow asks whether to restart: once per Proxies.swift.
  static let restartCanHelp = """
    /// Whether restarting the callee can help after `error`: it crashed, ran out of time or
    /// was down already. The shadows restart it then; the other errors are the callee's
    /// answer or the manifest's, and a restart changes neither.
    private func restartCanHelp(_ error: RpcError) -> Bool {
      switch error {
      case .domainCrashed, .timedOut, .unavailable: return true
      default: return false
      }
    }

    """

  static func shadow(_ interface: Interface) -> String {
    let name = interface.name
    var out = """
      /// Calls \(name) through \(name)Proxy and restarts the exporting domain when a call
      /// finds it crashed, timed out or down. Idempotent methods are then tried once more;
      /// the others return the error, and the next call finds the domain running again.
      public struct \(name)Shadow: \(name), BitwiseCopyable {
        public let proxy: \(name)Proxy

        public init(_ proxy: \(name)Proxy) { self.proxy = proxy }

        /// The shadow for the domain that exports \(name), if this domain may call it.
        public static func connect() -> Result<\(name)Shadow, RpcError> {
          switch \(name)Proxy.connect() {
          case .success(let proxy): return .success(\(name)Shadow(proxy))
          case .failure(let error): return .failure(error)
          }
        }

      """
    for method in interface.methods {
      out += "\n" + shadowMethod(method)
    }
    return out + "}\n"
  }

  /// One method: the call, then on a failure a restart can help with, the restart and
  /// (idempotent methods only) the second try.
  static func shadowMethod(_ method: Method) -> String {
    let call = "self.proxy.\(method.name)(\(forwardedArguments(method)))"
    let comment =
      method.isIdempotent
      ? "  /// Idempotent: tried once more after a restart.\n"
      : "  /// Not idempotent: after a restart, the error is returned.\n"
    let afterRestart: String
    switch (method.isIdempotent, method.throwsRpcError) {
    case (true, true):
      afterRestart = """
              guard restartCanHelp(error), self.proxy.recover() else { throw error }
              return try \(call)
        """
    case (false, true):
      afterRestart = """
              if restartCanHelp(error) { _ = self.proxy.recover() }
              throw error
        """
    case (true, false):
      afterRestart = """
              guard restartCanHelp(error), self.proxy.recover() else { return .failure(error) }
              return \(call)
        """
    case (false, false):
      afterRestart = """
              if restartCanHelp(error) { _ = self.proxy.recover() }
              return .failure(error)
        """
    }
    if method.throwsRpcError {
      return comment + """
          public \(signature(method)) {
            do {
              return try \(call)
            } catch {
        \(afterRestart)
            }
          }

        """
    }
    return comment + """
        public \(signature(method)) {
          switch \(call) {
          case .success(let value): return .success(value)
          case .failure(let error):
      \(afterRestart)
          }
        }

      """
  }
}
