/// The kernel's system interface, as domains import it.
///
/// These are the only symbols a domain image may leave undefined (besides the C
/// library functions the Embedded Swift runtime needs, which the kernel also
/// provides); the kernel's loader binds them and refuses any other import by name
/// (kernel/domains/SystemInterface.swift has the other side of this list). Only this
/// trusted library calls them; domain code uses the safe wrappers around them.

@_extern(c, "swiftlet_log")
func kernelLog(_ level: Int, _ text: UnsafePointer<UInt8>?, _ length: Int)

@_extern(c, "swiftlet_connect")
func kernelConnect(_ name: UnsafePointer<UInt8>?, _ length: Int) -> Int64

/// One cross-domain call through export slot `slot`: its status word (DomainCall).
@_extern(c, "swiftlet_call")
public func kernelCall(
  _ slot: UInt64, _ arguments: UnsafeRawPointer?, _ result: UnsafeMutableRawPointer?
) -> UInt64

@_extern(c, "swiftlet_recover")
func kernelRecover(_ handle: UInt64) -> Int32

@_extern(c, "swiftlet_domain_id")
func kernelDomainID() -> UInt32

@_extern(c, "swiftlet_time_ns")
func kernelTimeNanoseconds() -> UInt64

@_extern(c, "swiftlet_event_signal")
func kernelEventSignal(_ number: Int) -> Int64

@_extern(c, "swiftlet_event_wait")
func kernelEventWait(_ number: Int, _ seen: UInt64, _ timeoutNanoseconds: UInt64) -> Int64

@_extern(c, "swiftlet_boot_option")
func kernelBootOption(
  _ name: UnsafePointer<UInt8>?, _ nameLength: Int, _ buffer: UnsafeMutablePointer<UInt8>?,
  _ capacity: Int
) -> Int64

@_extern(c, "swiftlet_caller")
func kernelCaller() -> UInt64

@_extern(c, "swiftlet_domain_alive")
func kernelDomainAlive(_ identity: UInt64) -> Int32
