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
/// generated code uses them.
public enum DomainCall {
  /// Calls a method that takes nothing and returns nothing.
  @unsafe @inline(__always)
  public static func invoke(_ handle: InterfaceHandle, method: UInt64) -> Result<Void, RpcError> {
    let status = kernelCall(handle.rawValue &+ method, nil, nil)
    return status == 0 ? .success(()) : .failure(RpcError(status: status))
  }

  /// Calls a method that takes `arguments` and returns nothing. If the call never
  /// reached the callee (it was stopped, or there is no such slot), `undelivered` gets
  /// the arguments back: RRefs moved into them are still this domain's to free.
  @unsafe @inline(__always)
  public static func invoke<Arguments: BitwiseCopyable>(
    _ handle: InterfaceHandle, method: UInt64, _ arguments: inout Arguments,
    undelivered: (Arguments) -> Void = { _ in }
  ) -> Result<Void, RpcError> {
    let status = unsafe withUnsafePointer(to: &arguments) { arguments in
      unsafe kernelCall(handle.rawValue &+ method, arguments, nil)
    }
    if status == 0 { return .success(()) }
    if Status.isUndelivered(status) { undelivered(arguments) }
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
        unsafe kernelCall(handle.rawValue &+ method, arguments, slot.baseAddress)
      }
      // Status 0: the callee's entry point stored the value.
      if status == 0 { return .success(unsafe slot[0]) }
      if Status.isUndelivered(status) { undelivered(arguments) }
      return .failure(RpcError(status: status))
    }
  }

  /// Calls a method that takes nothing and returns a `Value`.
  @unsafe @inline(__always)
  public static func invoke<Value: BitwiseCopyable>(
    _ handle: InterfaceHandle, method: UInt64, returning: Value.Type
  ) -> Result<Value, RpcError> {
    unsafe withUnsafeTemporaryAllocation(of: Value.self, capacity: 1) { slot in
      let status = unsafe kernelCall(handle.rawValue &+ method, nil, slot.baseAddress)
      return status == 0 ? .success(unsafe slot[0]) : .failure(RpcError(status: status))
    }
  }

  // MARK: - The callee's side

  /// What every entry point is: `entry(_, arguments, result)`, returning the status word.
  /// (Its first argument is the kernel's; entry points ignore it.)
  public typealias Entry =
    @convention(c) (UInt64, UnsafeRawPointer, UnsafeMutableRawPointer) -> UInt64

  /// An entry point's address, for the kernel's export table.
  @unsafe @inline(__always)
  public static func address(of entry: Entry) -> UInt {
    unsafe unsafeBitCast(entry, to: UInt.self)
  }

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

  /// The status words the kernel itself returns (boot/domaincall.asm).
  enum Status {
    static let crashed: UInt64 = 1
    static let stopped: UInt64 = 2
    static let noSuchSlot: UInt64 = 3
    static let timedOut: UInt64 = 4
    /// `.failed(code:)`, with the code in the high half.
    static let failed: UInt64 = 5
    /// Set in every status an entry point returns for an error of the callee's own.
    static let fromCallee: UInt64 = 0x100

    /// The call never reached the callee's entry point.
    static func isUndelivered(_ status: UInt64) -> Bool {
      status == stopped || status == noSuchSlot
    }
  }
}

extension RpcError {
  /// The error as a call's status word: the kernel's statuses for the errors it causes
  /// itself; with `fromCallee` set for an error the callee returned (so the proxy can
  /// tell "never delivered" from "the callee said unavailable"); `.failed`'s code in the
  /// high half.
  public var status: UInt64 {
    let fromCallee = DomainCall.Status.fromCallee
    return switch self {
    case .domainCrashed: fromCallee | DomainCall.Status.crashed
    case .unavailable: fromCallee | DomainCall.Status.stopped
    case .notConnected: fromCallee | DomainCall.Status.noSuchSlot
    case .timedOut: fromCallee | DomainCall.Status.timedOut
    case .failed(let code):
      fromCallee | DomainCall.Status.failed | UInt64(UInt32(bitPattern: code)) << 32
    }
  }

  /// The error a non-zero status word stands for.
  public init(status: UInt64) {
    switch status & 0xff {
    case DomainCall.Status.crashed: self = .domainCrashed
    case DomainCall.Status.stopped: self = .unavailable
    case DomainCall.Status.timedOut: self = .timedOut
    case DomainCall.Status.failed: self = .failed(code: Int32(truncatingIfNeeded: status >> 32))
    default: self = .notConnected
    }
  }
}
