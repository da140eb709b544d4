// The NetworkControl interface: the network stack's state, for the shell and the tests.
import Packets
import SwiftletLib

/// How the stack got its address.
public enum AddressSource: UInt8, Equatable, BitwiseCopyable {
  /// None yet: DHCP is asking, or there is no device.
  case none
  case dhcp
  /// From the kernel command line (`ip=`).
  case fixed

  public var name: StaticString {
    switch self {
    case .none: "none"
    case .dhcp: "dhcp"
    case .fixed: "static"
    }
  }
}

/// The stack's interface and counters.
public struct NetworkStatus: BitwiseCopyable {
  /// Whether the stack has a device to drive.
  public var hasDevice: Bool
  public var driver: NetworkDriverKind
  public var mac: MACAddress
  public var linkUp: Bool
  public var source: AddressSource
  public var address: IPv4Address
  public var prefixLength: UInt8
  public var gateway: IPv4Address
  public var receivedFrames: UInt64
  public var receivedBytes: UInt64
  public var sentFrames: UInt64
  public var sentBytes: UInt64
  /// Dropped received frames, by `DropReason.rawValue` (room for reasons to come).
  public var drops: InlineArray<32, UInt64>
  /// Times the stack found its driver crashed and restarted it.
  public var driverRestarts: UInt64

  public init() {
    hasDevice = false
    driver = .virtioNet
    mac = .zero
    linkUp = false
    source = .none
    address = .any
    prefixLength = 0
    gateway = .any
    receivedFrames = 0
    receivedBytes = 0
    sentFrames = 0
    sentBytes = 0
    drops = InlineArray(repeating: 0)
    driverRestarts = 0
  }
}

/// One entry of the ARP cache.
public struct ARPEntry: Equatable, BitwiseCopyable {
  public var address: IPv4Address
  public var mac: MACAddress
  /// Milliseconds until it expires.
  public var expiresInMilliseconds: UInt32

  public init(address: IPv4Address, mac: MACAddress, expiresInMilliseconds: UInt32) {
    self.address = address
    self.mac = mac
    self.expiresInMilliseconds = expiresInMilliseconds
  }
}

/// How a ping ended.
public enum PingOutcome: Equatable, BitwiseCopyable {
  /// The echo reply came back after this many nanoseconds.
  case reply(nanoseconds: UInt64)
  case timedOut
  /// The address's MAC did not resolve.
  case unreachable
  /// No address yet, or no device.
  case noNetwork
}

/// Errors: every method can return `.domainCrashed`, `.timedOut` or `.unavailable`.
public protocol NetworkControl {
  /// The interface, its address and its counters.
  ///
  /// - Idempotent: it only reads them.
  func status() -> Result<NetworkStatus, RpcError>

  /// ARP cache entry `index` (0 up), or nil past the last one.
  ///
  /// - Idempotent: it only reads the cache.
  func arpEntry(at index: Int) -> Result<ARPEntry?, RpcError>

  /// Sends one ICMP echo request to `address` (after resolving its next hop's MAC
  /// address) and waits up to `timeoutNanoseconds` (2 s at most) for its reply.
  func ping(_ address: IPv4Address, sequence: UInt16, timeoutNanoseconds: UInt64) -> Result<
    PingOutcome, RpcError
  >
}
