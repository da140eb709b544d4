/// What a domain may ask of the kernel, safely: logging, the time, who it is.
public enum DomainKernel {
  public static func log(_ message: String) {
    var text = message
    text.withUTF8 { bytes in
      unsafe kernelLog(1, bytes.baseAddress, bytes.count)
    }
  }

  public static var nanoseconds: UInt64 { kernelTimeNanoseconds() }

  /// The value of boot option `name` on the kernel command line (`ip=10.0.2.15/24`
  /// gives "10.0.2.15/24"; a bare `name` gives ""), or nil if it is absent or longer
  /// than 256 bytes.
  public static func bootOption(_ name: StaticString) -> String? {
    var value = InlineArray<256, UInt8>(repeating: 0)
    var span = value.mutableSpan
    let length = unsafe span.withUnsafeMutableBufferPointer { buffer in
      unsafe kernelBootOption(
        name.utf8Start, name.utf8CodeUnitCount, buffer.baseAddress, buffer.count)
    }
    guard length >= 0 else { return nil }
    var bytes: [UInt8] = []
    for index in 0..<Int(length) { bytes.append(value[index]) }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// This domain's number (the kernel is 0).
  public static var domainID: UInt32 { kernelDomainID() }
}

/// One life of a domain: its number and how many times it had restarted. A service
/// keeps its clients' identities to let go of what a client that died held.
public struct DomainIdentity: Equatable, BitwiseCopyable, Sendable {
  /// The domain number in the top 16 bits, its restart count below; 0 is the kernel.
  public let rawValue: UInt64

  public init(rawValue: UInt64) { self.rawValue = rawValue }

  /// Who made the call this domain is serving (the kernel when it serves none).
  public static var caller: DomainIdentity { DomainIdentity(rawValue: kernelCaller()) }

  /// Whether that life of that domain still runs (the kernel always does).
  public var isAlive: Bool { kernelDomainAlive(rawValue) != 0 }
}

/// An interface reference: which export of which domain a proxy calls. Its number is
/// the export-table slot of the interface's first method; only the kernel hands numbers
/// out (`connect`, which checks the caller's manifest imports). A forged handle would
/// call another interface's entry points with the wrong arguments, so the type is
/// `@unsafe`: domain code cannot name it. It reaches domains inside the generated proxies
/// only (`GreeterProxy.connect()`), which is also how an interface crosses a call.
@unsafe
public struct InterfaceHandle: BitwiseCopyable {
  public let rawValue: UInt64

  public init(rawValue: UInt64) { unsafe self.rawValue = rawValue }

  /// Asks the kernel for the domain that exports `interface`; refused unless this
  /// domain's manifest imports it.
  public static func connect(_ interface: StaticString) -> Result<InterfaceHandle, RpcError> {
    let handle = unsafe kernelConnect(interface.utf8Start, interface.utf8CodeUnitCount)
    guard handle >= 0 else { return unsafe .failure(.notConnected) }
    return unsafe .success(InterfaceHandle(rawValue: UInt64(handle)))
  }

  /// Restarts the exporting domain if it has crashed. Returns whether it runs now.
  public func recover() -> Bool {
    kernelRecover(unsafe rawValue) == 0
  }
}
