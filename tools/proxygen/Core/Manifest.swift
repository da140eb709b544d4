// The domain manifest (domains/manifest.json): every domain, the type that serves
// its exports, what it exports and imports, its heap, its time budget and its quotas,
// and for a driver its device and the device-access libraries it links. Declared
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
  /// Quotas (optional in the file; `Quota` has the defaults and bounds): the shared-heap
  /// bytes the domain may own at once, the threads of its own it may have running, and
  /// the physical frames it may use for its image, heap and stacks.
  public var sharedHeapKiB: Int
  public var threads: Int
  public var frames: Int
  /// The PCI device a driver domain owns, "vendor:device" in hex, several IDs of one
  /// vendor separated by commas ("1af4:1001,1af4:1042"); the kernel hands the first one
  /// attached to this domain alone.
  public var device: String?
  /// Libraries besides SwiftletLib the domain links (the Makefile reads this list).
  public var libraries: [String]?

  public init(
    name: String, service: String, exports: [String], imports: [String], heapKiB: Int = 256,
    budgetMilliseconds: Int = 200, sharedHeapKiB: Int = Quota.sharedHeapKiB.defaultValue,
    threads: Int = Quota.threads.defaultValue, frames: Int = Quota.frames.defaultValue,
    device: String? = nil, libraries: [String]? = nil
  ) {
    self.name = name
    self.service = service
    self.exports = exports
    self.imports = imports
    self.heapKiB = heapKiB
    self.budgetMilliseconds = budgetMilliseconds
    self.sharedHeapKiB = sharedHeapKiB
    self.threads = threads
    self.frames = frames
    self.device = device
    self.libraries = libraries
  }

  enum CodingKeys: String, CodingKey, CaseIterable {
    case name, service, exports, imports, heapKiB, budgetMilliseconds, sharedHeapKiB, threads
    case frames, device, libraries
  }

  /// The quotas may be left out: then they take their defaults.
  public init(from decoder: any Decoder) throws {
    let values = try decoder.container(keyedBy: CodingKeys.self)
    name = try values.decode(String.self, forKey: .name)
    service = try values.decode(String.self, forKey: .service)
    exports = try values.decode([String].self, forKey: .exports)
    imports = try values.decode([String].self, forKey: .imports)
    heapKiB = try values.decode(Int.self, forKey: .heapKiB)
    budgetMilliseconds = try values.decode(Int.self, forKey: .budgetMilliseconds)
    sharedHeapKiB =
      try values.decodeIfPresent(Int.self, forKey: .sharedHeapKiB)
      ?? Quota.sharedHeapKiB.defaultValue
    threads = try values.decodeIfPresent(Int.self, forKey: .threads) ?? Quota.threads.defaultValue
    frames = try values.decodeIfPresent(Int.self, forKey: .frames) ?? Quota.frames.defaultValue
    device = try values.decodeIfPresent(String.self, forKey: .device)
    libraries = try values.decodeIfPresent([String].self, forKey: .libraries)
  }
}

/// A per-domain limit the kernel enforces, its default and the values the manifest may
/// give it. The bounds only keep out mistakes (a negative number, a typo's extra
/// digits); the kernel decides what fits.
public struct Quota: Sendable {
  public let key: String
  public let defaultValue: Int
  public let bounds: ClosedRange<Int>

  /// Shared-heap KiB the domain may own at once (0: it cannot make RRefs).
  public static let sharedHeapKiB = Quota(
    key: "sharedHeapKiB", defaultValue: 1024, bounds: 0...65536)
  /// Threads of its own (DomainThread) the domain may have running at once.
  public static let threads = Quota(key: "threads", defaultValue: 8, bounds: 0...1024)
  /// Physical 4 KiB frames for its image, private heap and stacks.
  public static let frames = Quota(key: "frames", defaultValue: 1024, bounds: 1...65536)

  public static let all = [sharedHeapKiB, threads, frames]
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

  /// The rules: every key is known; names are unique and well formed, and a service
  /// is not named as generated code names its own things; every interface named exists,
  /// each is exported by one domain at most (or by drivers of different devices),
  /// imported only if exported, and not by the
  /// domain that exports it (a domain calling itself would enter itself while inside);
  /// heaps, time budgets and quotas are within bounds, and the frames hold the heap.
  public func check(file: String, text: String, interfaces: [Interface]) throws(GeneratorError) {
    try Manifest.checkKeys(file: file, text: text)
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
      if domain.service.hasPrefix("_") || domain.service.lowercased().hasPrefix("swiftlet") {
        throw fail(
          "service '\(domain.service)' has a name reserved for generated code (starting with _ or swiftlet)"
        )
      }
      for name in domain.exports + domain.imports where !known.contains(name) {
        throw fail("no interface '\(name)' in domains/interfaces")
      }
      for name in domain.exports {
        if let other = exporters[name] {
          // Drivers of different devices may export the same interface (virtio-net and
          // e1000 both export NetworkDevice): the kernel connects an importer to the one
          // whose device is attached. Anything else exported twice is a mistake.
          let otherDevice = domains.first { $0.name == other }?.device
          guard let device = domain.device, let otherDevice,
            Set(device.split(separator: ",")).isDisjoint(with: otherDevice.split(separator: ","))
          else {
            throw fail(
              "'\(name)' is exported by '\(other)' already (only drivers of different devices may export the same interface)"
            )
          }
          continue
        }
        exporters[name] = domain.name
      }
      for name in domain.imports where domain.exports.contains(name) {
        throw fail(
          "imports '\(name)', which it exports itself: a domain does not call itself (it would enter itself while inside a call)"
        )
      }
      guard domain.heapKiB >= 16 && domain.heapKiB <= 65536 else {
        throw fail("heapKiB \(domain.heapKiB) is outside 16...65536")
      }
      guard domain.budgetMilliseconds >= 1 && domain.budgetMilliseconds <= 60_000 else {
        throw fail("budgetMilliseconds \(domain.budgetMilliseconds) is outside 1...60000")
      }
      for (quota, value) in zip(Quota.all, [domain.sharedHeapKiB, domain.threads, domain.frames])
      where !quota.bounds.contains(value) {
        throw fail(
          "\(quota.key) \(value) is outside \(quota.bounds.lowerBound)...\(quota.bounds.upperBound)"
        )
      }
      let heapFrames = (domain.heapKiB + 3) / 4
      guard domain.frames > heapFrames else {
        throw fail(
          "frames \(domain.frames) leave no room beside its \(domain.heapKiB) KiB heap (\(heapFrames) frames) for its image and stacks"
        )
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

  /// Throws if a domain entry has a key the manifest does not know: a misspelt quota
  /// would otherwise be ignored, and the default used without a word.
  static func checkKeys(file: String, text: String) throws(GeneratorError) {
    let known = Set(DomainManifest.CodingKeys.allCases.map(\.rawValue))
    guard let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
      let domains = root["domains"] as? [[String: Any]]
    else { return }
    for domain in domains {
      for key in domain.keys.sorted() where !known.contains(key) {
        let name = domain["name"] as? String ?? ""
        throw GeneratorError(
          file: file, line: line(of: name, in: text),
          reason:
            "domain '\(name)': no key '\(key)' (there are \(DomainManifest.CodingKeys.allCases.map(\.rawValue).joined(separator: ", ")))"
        )
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
