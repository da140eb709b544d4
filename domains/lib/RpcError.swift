/// What can go wrong in a cross-domain call, as the caller sees it.
public enum RpcError: Error, Equatable, BitwiseCopyable {
  /// The callee trapped during the call (a Swift runtime trap, a page fault, a
  /// general protection fault, a divide error, a stack overflow). Its private heap and
  /// what it owned are gone; it can be restarted.
  case domainCrashed
  /// The call ran past the callee's time budget and was ended like a crash.
  case timedOut
  /// The callee has crashed earlier and has not been restarted.
  case unavailable
  /// No domain exports that interface, or this domain may not call it.
  case notConnected
  /// An RRef did not cross: the callee refused an argument, or this domain refused the
  /// result, because the kernel's registry did not show a valid move or loan. Generated
  /// code on both sides never causes it; it means a forged or reused reference, and the
  /// service did not run (for a refused argument).
  case refused
  /// The callee reports a failure of its own, with a code its interface documents.
  case failed(code: Int32)
}

extension RpcError {
  /// What happened, in a few words, for a log line or the shell.
  public var summary: StaticString {
    switch self {
    case .domainCrashed: "the callee crashed"
    case .timedOut: "the call ran out of time"
    case .unavailable: "the callee is down"
    case .notConnected: "not connected"
    case .refused: "an argument was refused"
    case .failed: "the callee reported a failure"
    }
  }
}
