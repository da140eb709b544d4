/// What a domain may ask of the kernel, safely: logging, the time, who it is.
public enum DomainKernel {
  public static func log(_ message: String) {
    var text = message
    text.withUTF8 { bytes in
      unsafe kernelLog(1, bytes.baseAddress, bytes.count)
    }
  }

  public static var nanoseconds: UInt64 { kernelTimeNanoseconds() }

  /// This domain's number (the kernel is 0).
  public static var domainID: UInt32 { kernelDomainID() }
}

/// An interface reference: which export of which domain a proxy calls. Plain data,
/// so it may cross domains.
public struct InterfaceHandle: Equatable, BitwiseCopyable {
  public let rawValue: UInt64

  public init(rawValue: UInt64) { self.rawValue = rawValue }

  /// Asks the kernel for the domain that exports `interface`; refused unless this
  /// domain's manifest imports it.
  public static func connect(_ interface: StaticString) -> Result<InterfaceHandle, RpcError> {
    let handle = unsafe kernelConnect(interface.utf8Start, interface.utf8CodeUnitCount)
    guard handle >= 0 else { return .failure(.notConnected) }
    return .success(InterfaceHandle(rawValue: UInt64(handle)))
  }

  /// Restarts the exporting domain if it has crashed. Returns whether it runs now.
  public func recover() -> Bool {
    kernelRecover(rawValue) == 0
  }
}

/// The call primitive the generated proxies use: one cross-domain call with the
/// arguments and the result slot in the caller's memory (kernel/domains/DomainCall.swift
/// says what happens inside).
public enum DomainCall {
  /// `outcome` must be initialized: the callee's entry point assigns over it.
  @inline(__always)
  public static func invoke<Arguments: BitwiseCopyable, Outcome>(
    _ handle: InterfaceHandle, method: UInt64, _ arguments: inout Arguments,
    _ outcome: inout Outcome
  ) -> RpcError? {
    let status = unsafe withUnsafeMutablePointer(to: &arguments) { arguments in
      unsafe withUnsafeMutablePointer(to: &outcome) { outcome in
        unsafe kernelCall(handle.rawValue, method, arguments, outcome)
      }
    }
    return status == 0 ? nil : RpcError(callStatus: status)
  }
}
