/// One function, probed: its header, BARs, capabilities and interrupt capabilities.
public struct PCIFunction: Equatable, Sendable {
  public var address: PCIAddress
  public var header: ConfigurationHeader
  public var bars: [BaseAddressRegister]
  public var capabilities: [Capability]
  public var msix: MSIXCapability?
  public var msi: MSICapability?

  /// Probes the function whose header is `header`: sizes its BARs (which writes them,
  /// and puts them back) and walks its capability list. Throws on anything malformed.
  public static func probe<A>(_ space: ConfigurationSpace<A>, header: ConfigurationHeader)
    throws(PCIError) -> PCIFunction
  {
    if case .unknown(let type) = header.layout {
      throw .unknownHeaderLayout(space.address, headerType: type)
    }
    let bars = try BaseAddressRegister.probeAll(in: space, count: header.layout.barCount)
    let capabilities = try Capability.walk(in: space, header: header)
    var function = PCIFunction(
      address: space.address, header: header, bars: bars, capabilities: capabilities)
    if let capability = capabilities.first(where: { $0.id == CapabilityID.msix }) {
      function.msix = try MSIXCapability.read(from: space, at: capability, bars: bars)
    }
    if let capability = capabilities.first(where: { $0.id == CapabilityID.msi }) {
      function.msi = try MSICapability.read(from: space, at: capability)
    }
    return function
  }

  public init(
    address: PCIAddress, header: ConfigurationHeader, bars: [BaseAddressRegister] = [],
    capabilities: [Capability] = [], msix: MSIXCapability? = nil, msi: MSICapability? = nil
  ) {
    self.address = address
    self.header = header
    self.bars = bars
    self.capabilities = capabilities
    self.msix = msix
    self.msi = msi
  }

  public func bar(_ index: Int) -> BaseAddressRegister? { bars.first { $0.index == index } }

  /// "8086:100e" and the class name.
  public var identity: String {
    hexDigits(UInt64(header.vendorID), width: 4) + ":"
      + hexDigits(UInt64(header.deviceID), width: 4)
      + " " + header.className
  }

  /// The interrupts the function offers: "INTx A (line 11), MSI-X 2", "MSI 1", "none".
  public var interruptDescription: String {
    var parts: [String] = []
    if let pin = header.interruptPinName {
      let line = header.interruptLine
      parts.append("INTx \(pin)" + (line == 0 || line == 0xFF ? " (unrouted)" : " (line \(line))"))
    }
    if let msix { parts.append("MSI-X \(msix.tableSize)") }
    if let msi { parts.append("MSI \(msi.vectorsCapable)") }
    return parts.isEmpty ? "no interrupt" : parts.joined(separator: ", ")
  }
}
