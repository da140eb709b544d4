// The domain manifest (domains/manifest.json): every domain, the type that serves
// its exports, what it exports and imports, its heap and its time budget, and for a
// driver its device and the device-access libraries it links. Declared
// once; the generator builds each domain's wiring from it and the kernel enforces it.
import Foundation

public struct DomainManifest: Codable, Equatable, Sendable {
  public var name: String
  /// The domain's service type: it has `init()` and conforms to every export.
  public var service: String
  public var exports: [String]
  public var imports: [String]
  /// Private heap size.
  public var heapKiB: Int
  /// How long one call into the domain may run before the watchdog ends it.
  public var budgetMilliseconds: Int
  /// The PCI device a driver domain owns, "vendor:device" in hex, several IDs of one
  /// vendor separated by commas ("1af4:1001,1af4:1042"); the kernel hands the first one
  /// attached to this domain alone.
  public var device: String?
  /// Libraries besides SwiftletLib the domain links (the Makefile reads this list).
  public var libraries: [String]?

  public init(
    name: String, service: String, exports: [String], imports: [String], heapKiB: Int = 256,
    budgetMilliseconds: Int = 200, device: String? = nil, libraries: [String]? = nil
  ) {
    self.name = name
    self.service = service
    self.exports = exports
    self.imports = imports
    self.heapKiB = heapKiB
    self.budgetMilliseconds = budgetMilliseconds
    self.device = device
    self.libraries = libraries
  }
}

public struct Manifest: Codable, Equatable, Sendable {
  public var domains: [DomainManifest]
  /// The libraries a domain may link besides SwiftletLib, in dependency order.
  public static let libraries = ["Registers", "Virtio", "DeviceAccess"]

  public init(domains: [DomainManifest]) { self.domains = domains }

  /// Reads and checks a manifest against the interfaces there are.
  public static func load(
    json: Data, file: String, interfaces: [Interface]
  ) throws(GeneratorError) -> Manifest {
    let manifest: Manifest
    do {
      manifest = try JSONDecoder().decode(Manifest.self, from: json)
    } catch {
      throw GeneratorError(file: file, line: 1, reason: "not a valid manifest: \(error)")
    }
    try manifest.check(
      file: file, text: String(decoding: json, as: UTF8.self), interfaces: interfaces)
    return manifest
  }

  /// The rules: names are unique and well formed, every interface named exists, each
  /// is exported by one domain at most and imported only if exported, and heaps and
  /// time budgets are within the kernel's bounds.
  public func check(file: String, text: String, interfaces: [Interface]) throws(GeneratorError) {
    let known = Set(interfaces.map(\.name))
    var names: Set<String> = []
    var exporters: [String: String] = [:]
    for domain in domains {
      func fail(_ reason: String) -> GeneratorError {
        GeneratorError(
          file: file, line: Manifest.line(of: domain.name, in: text),
          reason: "domain '\(domain.name)': \(reason)")
      }
      guard domain.name.range(of: "^[a-z][a-z0-9_]*$", options: .regularExpression) != nil else {
        throw fail("names are lowercase letters, digits and _, starting with a letter")
      }
      guard names.insert(domain.name).inserted else { throw fail("declared twice") }
      guard domain.service.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil
      else {
        throw fail("service '\(domain.service)' is not the name of a Swift type")
      }
      for name in domain.exports + domain.imports where !known.contains(name) {
        throw fail("no interface '\(name)' in domains/interfaces")
      }
      for name in domain.exports {
        if let other = exporters[name] { throw fail("'\(name)' is exported by '\(other)' already") }
        exporters[name] = domain.name
      }
      guard domain.heapKiB >= 16 && domain.heapKiB <= 65536 else {
        throw fail("heapKiB \(domain.heapKiB) is outside 16...65536")
      }
      guard domain.budgetMilliseconds >= 1 && domain.budgetMilliseconds <= 60_000 else {
        throw fail("budgetMilliseconds \(domain.budgetMilliseconds) is outside 1...60000")
      }
      if let device = domain.device {
        let pattern = "^[0-9a-f]{4}:[0-9a-f]{4}(,[0-9a-f]{4}:[0-9a-f]{4})*$"
        guard device.range(of: pattern, options: .regularExpression) != nil,
          Set(device.split(separator: ",").map { $0.prefix(4) }).count == 1
        else {
          throw fail("device '\(device)' is not \"vendor:device,...\" in lowercase hex, one vendor")
        }
      }
      for library in domain.libraries ?? [] where !Self.libraries.contains(library) {
        throw fail("no library '\(library)' (there are \(Self.libraries.joined(separator: ", ")))")
      }
    }
    for domain in domains {
      for name in domain.imports where exporters[name] == nil {
        throw GeneratorError(
          file: file, line: Manifest.line(of: domain.name, in: text),
          reason: "domain '\(domain.name)' imports '\(name)', which no domain exports")
      }
    }
  }

  /// The line of the manifest's text that names `domain`, so that a message points at
  /// the domain it is about; 1 if no line does.
  static func line(of domain: String, in text: String) -> Int {
    let pattern = #""name"\s*:\s*""# + NSRegularExpression.escapedPattern(for: domain) + #"""#
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard
      let index = lines.firstIndex(where: {
        $0.range(of: pattern, options: .regularExpression) != nil
      })
    else { return 1 }
    return index + 1
  }
}
