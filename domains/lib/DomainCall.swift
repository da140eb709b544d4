/// The call primitive the generated proxies and entry points use: one cross-domain call,
/// with the arguments and the result slot in the caller's stack (boot/domaincall.asm
/// says what happens inside).
///
/// Every method of an interface has its own entry point and export slot (the handle's
/// slot plus the method's number). An entry point returns the call's status word: 0 if
/// the method succeeded, with its value (if it has one) stored in the caller's result
/// slot, or the error it returned (`RpcError.status`). The kernel's own statuses (the
/// callee crashed, timed out, is stopped, or there is no such slot) use the same word,
/// so the proxy reads one register to know how the call went.
///
/// The calls and the entry points' stores are `@unsafe`: a call with the wrong argument
/// or result type for its slot would read and write memory as the wrong type, so only
/// generated code uses them. CallStatus defines the status words.
public enum DomainCall {
  /// Calls a method that takes nothing and returns nothing.
  @unsafe @inline(__always)
  public static func invoke(_ handle: InterfaceHandle, method: UInt64) -> Result<Void, RpcError> {
    let status = kernelCall(unsafe handle.rawValue &+ method, nil, nil)
    return status == 0 ? .success(()) : .failure(RpcError(status: status))
  }

  /// Calls a method that takes `arguments` and returns nothing. If the call ended
  /// before the callee's service answered (it was never entered, crashed, timed out or
  /// refused an argument), `undelivered` gets the arguments back: RRefs moved into them
  /// that nobody adopted are still this domain's to free.
  @unsafe @inline(__always)
  public static func invoke<Arguments: BitwiseCopyable>(
    _ handle: InterfaceHandle, method: UInt64, _ arguments: inout Arguments,
    undelivered: (Arguments) -> Void = { _ in }
  ) -> Result<Void, RpcError> {
    let status = unsafe withUnsafePointer(to: &arguments) { arguments in
      unsafe kernelCall(unsafe handle.rawValue &+ method, arguments, nil)
    }
    if status == 0 { return .success(()) }
    if !CallStatus.isFromCallee(status) { undelivered(arguments) }
    return .failure(RpcError(status: status))
  }

  /// Calls a method that takes `arguments` and returns a `Value`; `undelivered` as above.
  @unsafe @inline(__always)
  public static func invoke<Arguments: BitwiseCopyable, Value: BitwiseCopyable>(
    _ handle: InterfaceHandle, method: UInt64, _ arguments: inout Arguments,
    returning: Value.Type, undelivered: (Arguments) -> Void = { _ in }
  ) -> Result<Value, RpcError> {
    unsafe withUnsafeTemporaryAllocation(of: Value.self, capacity: 1) { slot in
      let status = unsafe withUnsafePointer(to: &arguments) { arguments in
        unsafe kernelCall(unsafe handle.rawValue &+ method, arguments, slot.baseAddress)
      }
      // Status 0: the callee's entry point stored the value.
      if status == 0 { return .success(unsafe slot[0]) }
      if !CallStatus.isFromCallee(status) { undelivered(arguments) }
      return .failure(RpcError(status: status))
    }
  }

  /// Calls a method that takes nothing and returns a `Value`.
  @unsafe @inline(__always)
  public static func invoke<Value: BitwiseCopyable>(
    _ handle: InterfaceHandle, method: UInt64, returning: Value.Type
  ) -> Result<Value, RpcError> {
    unsafe withUnsafeTemporaryAllocation(of: Value.self, capacity: 1) { slot in
      let status = unsafe kernelCall(unsafe handle.rawValue &+ method, nil, slot.baseAddress)
      return status == 0 ? .success(unsafe slot[0]) : .failure(RpcError(status: status))
    }
  }

  // MARK: - The callee's side

  /// What every entry point is: `entry(_, arguments, result)`, returning the status word.
  /// (Its first argument is the kernel's; entry points ignore it.)
  public typealias Entry =
    @convention(c) (UInt64, UnsafeRawPointer, UnsafeMutableRawPointer) -> UInt64

  /// An entry point's answer for a method with no value: its status word.
  @inline(__always)
  public static func reply(_ outcome: Result<Void, RpcError>) -> UInt64 {
    switch outcome {
    case .success: 0
    case .failure(let error): error.status
    }
  }

  /// An entry point's answer for a method with a value: stores it into the caller's
  /// result slot on success.
  @unsafe @inline(__always)
  public static func reply<Value: BitwiseCopyable>(
    _ outcome: Result<Value, RpcError>, into result: UnsafeMutableRawPointer
  ) -> UInt64 {
    switch outcome {
    case .success(let value): unsafe reply(value, into: result)
    case .failure(let error): error.status
    }
  }

  /// An entry point's answer for a method that returned `value`.
  @unsafe @inline(__always)
  public static func reply<Value: BitwiseCopyable>(
    _ value: Value, into result: UnsafeMutableRawPointer
  ) -> UInt64 {
    unsafe result.storeBytes(of: value, as: Value.self)
    return 0
  }
}

/// An entry point's address, for the kernel's export table (the generated
/// `swiftlet_domain_entries`). A function of the module, not a member of a type, because
/// generated code compiled in a domain's module calls it: a domain can extend a type
/// with an overload that would win, but it cannot add to another module's functions.
@unsafe @inline(__always)
public func exportEntryAddress(_ entry: DomainCall.Entry) -> UInt {
  unsafe unsafeBitCast(entry, to: UInt.self)
}

extension RpcError {
  /// The error as a call's status word (CallStatus): the status of the same name, with
  /// `fromCallee` set, since an RpcError value is always the callee's answer (so the
  /// proxy can tell "never delivered" from "the callee said unavailable"); `.failed`'s
  /// code in the high half.
  public var status: UInt64 {
    let kind: CallStatus =
      switch self {
      case .domainCrashed: .crashed
      case .unavailable: .stopped
      case .notConnected: .noSuchSlot
      case .timedOut: .timedOut
      case .refused: .badArgument
      case .failed: .failed
      }
    let code: UInt64 =
      if case .failed(let code) = self { UInt64(UInt32(bitPattern: code)) << 32 } else { 0 }
    return CallStatus.fromCallee.rawValue | kind.rawValue | code
  }

  /// The error a non-zero status word stands for.
  public init(status: UInt64) {
    switch CallStatus(rawValue: CallStatus.kind(of: status)) {
    case .crashed: self = .domainCrashed
    case .stopped: self = .unavailable
    case .timedOut: self = .timedOut
    case .badArgument: self = .refused
    case .failed: self = .failed(code: Int32(truncatingIfNeeded: status >> 32))
    default: self = .notConnected
    }
  }
}

/// Fills the kernel's copy of a domain's export table with `entries`, if it has room for
/// exactly that many: what the generated `swiftlet_domain_entries` does. Here rather
/// than in generated code for the reason `exportEntryAddress` gives.
@unsafe @inline(__always)
public func fillExportTable<let count: Int>(
  _ table: UnsafeMutablePointer<UInt>, _ capacity: Int,
  _ entries: InlineArray<count, DomainCall.Entry>
) -> Int {
  guard capacity == count else { return 0 }
  for index in 0..<count { unsafe table[index] = unsafe exportEntryAddress(entries[index]) }
  return count
}

/// The address of a domain's manifest text, for the generated `swiftlet_domain_manifest`.
@unsafe @inline(__always)
public func manifestTextAddress(_ text: StaticString) -> UnsafePointer<UInt8> {
  unsafe text.utf8Start
}
