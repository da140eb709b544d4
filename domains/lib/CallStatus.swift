/// The status word of a cross-domain call, the one definition of it.
///
/// An entry point returns it in rax and the kernel's call path (boot/domaincall.asm)
/// returns its own statuses in the same word; scripts/callabi.py reads the `case` lines
/// below to give the assembly and the kernel the same numbers.
public enum CallStatus: UInt64 {
  /// The method ran and returned; a value, if any, is in the caller's result slot.
  case returned = 0
  /// The callee trapped during the call.
  case crashed = 1
  /// The callee is not running (it crashed and was not restarted): never delivered.
  case stopped = 2
  /// No export slot with that number: never delivered.
  case noSuchSlot = 3
  /// The call ran past the callee's budget and was ended like a crash.
  case timedOut = 4
  /// The callee's own failure, with its code in the high half.
  case failed = 5
  /// The kernel refused an RRef the call moved (not in transit to this callee).
  case badArgument = 6
  /// Set in every status an entry point returns for an error of the callee's own.
  case fromCallee = 0x100
}
