/// The status word of a cross-domain call: the one definition of it.
///
/// `swiftlet_call` returns it in rax. The kernel's call path (boot/domaincall.asm,
/// kernel/domains) returns the statuses it causes itself; a generated entry point
/// returns `returned`, `badArgument`, or an error of the callee's own with `fromCallee`
/// set (RpcError.status); a proxy turns the word back into an RpcError. The raw values
/// below are the ABI between the kernel, assembly and every domain image: each is
/// written once, as `case name = value`, so that other code can be generated from or
/// checked against this file.
public enum CallStatus: UInt64 {
  /// The callee returned; its value, if the method has one, is in the result slot.
  case returned = 0
  /// The callee trapped during the call.
  case crashed = 1
  /// The callee is not running (crashed earlier, or destroyed): it was never entered.
  case stopped = 2
  /// No export behind the slot: nothing was entered.
  case noSuchSlot = 3
  /// The callee ran past its time budget and was ended like a crash.
  case timedOut = 4
  /// `.failed(code:)`, with the code in the high half; only with `fromCallee`.
  case failed = 5
  /// The callee's entry point refused an argument (an RRef the kernel would not let it
  /// adopt, or a lent one that is not lent): the service did not run.
  case badArgument = 6
  /// Set in every status an entry point returns for an error of the callee's own, so
  /// that a proxy tells "never delivered" from "the callee said unavailable".
  case fromCallee = 0x100

  /// The low byte: which status, without `fromCallee` or `.failed`'s code.
  public static func kind(of status: UInt64) -> UInt64 { status & 0xff }

  /// Whether an error status came from the callee's own code (the service ran and
  /// answered); otherwise the kernel or the entry point's checks ended the call, and
  /// RRefs moved into it may still be the caller's.
  public static func isFromCallee(_ status: UInt64) -> Bool {
    status & fromCallee.rawValue != 0
  }
}
