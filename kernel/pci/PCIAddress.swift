/// Where a PCI function sits: bus, device and function, printed as "00:04.0".
public struct PCIAddress: Equatable, Hashable, Comparable, Sendable {
  public let bus: UInt8
  /// 0-31.
  public let device: UInt8
  /// 0-7.
  public let function: UInt8

  public init(bus: UInt8, device: UInt8, function: UInt8) {
    precondition(device < 32 && function < 8, "not a PCI device and function")
    self.bus = bus
    self.device = device
    self.function = function
  }

  public static func < (left: PCIAddress, right: PCIAddress) -> Bool {
    (left.bus, left.device, left.function) < (right.bus, right.device, right.function)
  }

  /// "bb:dd.f" in hex, as Linux's lspci writes it.
  public var description: String {
    hexDigits(UInt64(bus), width: 2) + ":" + hexDigits(UInt64(device), width: 2) + "."
      + hexDigits(UInt64(function), width: 1)
  }
}

/// `value` in lowercase hex digits, zero-padded to `width`, without a prefix.
func hexDigits(_ value: UInt64, width: Int = 1) -> String {
  let digits: StaticString = "0123456789abcdef"
  var reversed: [UInt8] = []
  var rest = value
  repeat {
    reversed.append(digits.utf8Start[Int(rest % 16)])
    rest /= 16
  } while rest != 0 || reversed.count < width
  return String(decoding: reversed.reversed(), as: UTF8.self)
}

/// `value` as "0x" and lowercase hex digits, for messages.
func hex<T: BinaryInteger>(_ value: T) -> String {
  "0x" + hexDigits(UInt64(truncatingIfNeeded: value))
}
