/// The interface's IPv4 configuration, and the `ip=` boot option that may fix it.

public struct InterfaceAddress: Equatable, Sendable {
  public var address: IPv4Address
  /// 1 to 32 bits of network prefix.
  public var prefixLength: UInt8
  /// Where packets for other networks go; nil if there is no gateway.
  public var gateway: IPv4Address?

  public init(address: IPv4Address, prefixLength: UInt8, gateway: IPv4Address?) {
    self.address = address
    self.prefixLength = prefixLength
    self.gateway = gateway
  }

  /// The network mask, as an address (255.255.255.0 for /24).
  public var mask: IPv4Address {
    // Swift's shifts take a count of 32 or more to mean "all bits out": /0 is 0.0.0.0.
    IPv4Address(rawValue: UInt32.max << UInt32(32 - min(prefixLength, 32)))
  }

  /// The prefix length a contiguous mask stands for; nil for a mask with holes or 0.
  public static func prefixLength(ofMask mask: IPv4Address) -> UInt8? {
    let ones = (~mask.rawValue).leadingZeroBitCount
    guard ones > 0, mask.rawValue << UInt32(ones) == 0 else { return nil }
    return UInt8(ones)
  }

  /// Whether `other` is on this interface's network (reached without the gateway).
  public func isLocal(_ other: IPv4Address) -> Bool {
    (other.rawValue ^ address.rawValue) & mask.rawValue == 0
  }

  /// The network's directed broadcast address (10.0.2.255 for 10.0.2.15/24).
  public var broadcast: IPv4Address {
    IPv4Address(rawValue: address.rawValue | ~mask.rawValue)
  }

  /// `10.0.2.15/24 gw 10.0.2.2`, as the stack logs it.
  public var description: String {
    var text = "\(address)/\(prefixLength)"
    if let gateway { text += " gw \(gateway)" }
    return text
  }
}

/// How the stack gets its address.
public enum AddressingMode: Equatable, Sendable {
  case dhcp
  case fixed(InterfaceAddress)

  /// The mode the kernel command line's `ip=` option asks for: absent or `dhcp` is DHCP;
  /// `A.B.C.D/N` with an optional `,gw=A.B.C.D` is a fixed address. Anything else is
  /// refused with the reason (the stack then logs it and uses DHCP).
  public static func parse(bootOption value: String?) -> Result<AddressingMode, AddressingError> {
    guard let value else { return .success(.dhcp) }
    let text = Array(value.utf8)
    if text == Array("dhcp".utf8) { return .success(.dhcp) }
    let parts = text.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
    guard parts.count <= 2, let first = parts.first else { return .failure(.malformed) }
    let addressAndPrefix = first.split(
      separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
    guard addressAndPrefix.count == 2, let address = IPv4Address(ascii: addressAndPrefix[0]),
      let prefix = decimal(addressAndPrefix[1], atMost: 32), prefix > 0
    else { return .failure(.malformed) }
    var configuration = InterfaceAddress(
      address: address, prefixLength: UInt8(prefix), gateway: nil)
    guard address != .any, address != configuration.broadcast || prefix == 32 else {
      return .failure(.badAddress)
    }
    if parts.count == 2 {
      let gatewayText = Array(parts[1])
      let key = Array("gw=".utf8)
      guard gatewayText.starts(with: key),
        let gateway = IPv4Address(ascii: gatewayText[key.count...])
      else { return .failure(.malformed) }
      guard configuration.isLocal(gateway), gateway != address else {
        return .failure(.gatewayNotLocal)
      }
      configuration.gateway = gateway
    }
    return .success(.fixed(configuration))
  }
}

/// Why an `ip=` value was refused.
public enum AddressingError: Error, Equatable, Sendable {
  /// Not `dhcp` nor `A.B.C.D/N[,gw=A.B.C.D]`.
  case malformed
  /// The address is 0.0.0.0 or the network's broadcast address.
  case badAddress
  /// The gateway is not on the address's network, or is the address itself.
  case gatewayNotLocal

  public var message: StaticString {
    switch self {
    case .malformed: "expected ip=dhcp or ip=A.B.C.D/N[,gw=A.B.C.D]"
    case .badAddress: "the address is 0.0.0.0 or its network's broadcast address"
    case .gatewayNotLocal: "the gateway is not on the address's network"
    }
  }
}

/// A decimal number of 1 to 3 digits, at most `limit`.
func decimal(_ digits: some Collection<UInt8>, atMost limit: Int) -> Int? {
  guard !digits.isEmpty, digits.count <= 3 else { return nil }
  var value = 0
  for digit in digits {
    guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
    value = value * 10 + Int(digit - UInt8(ascii: "0"))
  }
  return value <= limit ? value : nil
}

extension IPv4Address {
  /// Parses dotted-quad ASCII (`10.0.2.15`) without Unicode string comparison, which
  /// domains do not link; nil unless it is four numbers of 0-255 separated by dots.
  public init?(ascii text: some Collection<UInt8>) {
    let parts = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var value: UInt32 = 0
    for part in parts {
      guard let number = decimal(part, atMost: 255) else { return nil }
      value = value << 8 | UInt32(number)
    }
    self.init(rawValue: value)
  }
}
