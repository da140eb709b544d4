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
/// so it may cross domains. Its number is the export-table slot of the interface's
/// first method; only the kernel hands numbers out (`connect`), and only trusted code
/// may make a handle from a number: a forged one would call another interface's entry
/// points with the wrong arguments.
public struct InterfaceHandle: Equatable, BitwiseCopyable {
  public let rawValue: UInt64

  @unsafe public init(rawValue: UInt64) { self.rawValue = rawValue }

  /// Asks the kernel for the domain that exports `interface`; refused unless this
  /// domain's manifest imports it.
  public static func connect(_ interface: StaticString) -> Result<InterfaceHandle, RpcError> {
    let handle = unsafe kernelConnect(interface.utf8Start, interface.utf8CodeUnitCount)
    guard handle >= 0 else { return .failure(.notConnected) }
    return .success(unsafe InterfaceHandle(rawValue: UInt64(handle)))
  }

  /// Restarts the exporting domain if it has crashed. Returns whether it runs now.
  public func recover() -> Bool {
    kernelRecover(rawValue) == 0
  }
}
