/// The manifest's checks: every interface it names exists, one exporter per interface,
/// imports that someone else exports, well-formed names, heaps, budgets and quotas in
/// bounds, no unknown keys; and the quotas as the kernel reads them.
import Foundation
import ProxyGeneratorCore
import Testing

/// Interfaces A and B, for manifests to name.
let manifestInterfaces = [
  Interface(name: "A", methods: [], file: "A.swift"),
  Interface(name: "B", methods: [], file: "B.swift"),
]

/// One domain's entry in manifest.json, on one line.
func domainJSON(
  _ name: String, service: String = "Service", exports: [String] = [], imports: [String] = [],
  heapKiB: Int = 256, budgetMilliseconds: Int = 200, extra: String = ""
) -> String {
  let exports = exports.map { "\"\($0)\"" }.joined(separator: ", ")
  let imports = imports.map { "\"\($0)\"" }.joined(separator: ", ")
  return
    "    { \"name\": \"\(name)\", \"service\": \"\(service)\", \"exports\": [\(exports)], \"imports\": [\(imports)], "
    + "\"heapKiB\": \(heapKiB), \"budgetMilliseconds\": \(budgetMilliseconds)\(extra) }"
}

/// A manifest of `domains`, one a line from line 3 on.
func manifestJSON(_ domains: [String]) -> String {
  "{\n  \"domains\": [\n" + domains.joined(separator: ",\n") + "\n  ]\n}\n"
}

func loadManifest(_ domains: [String]) throws(GeneratorError) -> Manifest {
  try Manifest.load(
    json: Data(manifestJSON(domains).utf8), file: "manifest.json", interfaces: manifestInterfaces)
}

/// The message the manifest is rejected with, or nil.
func manifestRejection(_ domains: [String]) -> String? {
  do {
    _ = try loadManifest(domains)
    return nil
  } catch {
    return error.description
  }
}

@Suite struct ManifestTests {
  @Test func valid() throws {
    let manifest = try loadManifest([
      domainJSON("first", service: "FirstService", exports: ["A"]),
      domainJSON(
        "second_2", exports: ["B"], imports: ["A"], heapKiB: 16, budgetMilliseconds: 60_000),
    ])
    #expect(
      manifest.domains == [
        DomainManifest(name: "first", service: "FirstService", exports: ["A"], imports: []),
        DomainManifest(
          name: "second_2", service: "Service", exports: ["B"], imports: ["A"], heapKiB: 16,
          budgetMilliseconds: 60_000),
      ])
  }

  @Test func unknownInterface() {
    #expect(
      manifestRejection([domainJSON("one", exports: ["A"]), domainJSON("two", exports: ["C"])])
        == "manifest.json:4: error: domain 'two': no interface 'C' in domains/interfaces")
    #expect(
      manifestRejection([domainJSON("one", imports: ["Nope"])])
        == "manifest.json:3: error: domain 'one': no interface 'Nope' in domains/interfaces")
  }

  @Test func duplicateExporter() {
    #expect(
      manifestRejection([
        domainJSON("one", exports: ["A"]), domainJSON("two", exports: ["B", "A"]),
      ])
        == "manifest.json:4: error: domain 'two': 'A' is exported by 'one' already (only drivers of different devices may export the same interface)"
    )
  }

  /// Drivers of different devices may export one interface; of the same device, not.
  @Test func driversOfDifferentDevicesShareAnExport() {
    let virtio = domainJSON("virtio", exports: ["A"], extra: ", \"device\": \"1af4:1041\"")
    let intel = domainJSON("intel", exports: ["A"], extra: ", \"device\": \"8086:100e\"")
    let same = domainJSON("same", exports: ["A"], extra: ", \"device\": \"8086:100e,8086:100f\"")
    #expect(manifestRejection([virtio, intel, domainJSON("user", imports: ["A"])]) == nil)
    #expect(
      manifestRejection([intel, same])
        == "manifest.json:4: error: domain 'same': 'A' is exported by 'intel' already (only drivers of different devices may export the same interface)"
    )
  }

  @Test func importNobodyExports() {
    #expect(
      manifestRejection([
        domainJSON("one", exports: ["A"]), domainJSON("two", imports: ["A", "B"]),
      ])
        == "manifest.json:4: error: domain 'two' imports 'B', which no domain exports")
  }

  @Test(arguments: ["Hello", "1st", "with-dash", "", "dot.ted"])
  func badDomainName(_ name: String) {
    #expect(
      manifestRejection([domainJSON("fine"), domainJSON(name)])
        == "manifest.json:4: error: domain '\(name)': names are lowercase letters, digits and _, starting with a letter"
    )
  }

  @Test func domainDeclaredTwice() {
    #expect(
      manifestRejection([domainJSON("one"), domainJSON("one")])
        == "manifest.json:3: error: domain 'one': declared twice")
  }

  @Test(arguments: ["", "Two Words", "1Service", "Service()", "A.B"])
  func badServiceName(_ service: String) {
    #expect(
      manifestRejection([domainJSON("one", service: service)])
        == "manifest.json:3: error: domain 'one': service '\(service)' is not the name of a Swift type"
    )
  }

  @Test(arguments: [15, 65537, 0, -1])
  func heapOutOfBounds(_ heapKiB: Int) {
    #expect(
      manifestRejection([domainJSON("one", heapKiB: heapKiB)])
        == "manifest.json:3: error: domain 'one': heapKiB \(heapKiB) is outside 16...65536")
  }

  @Test(arguments: [0, 60001, -5])
  func budgetOutOfBounds(_ budget: Int) {
    #expect(
      manifestRejection([domainJSON("one", budgetMilliseconds: budget)])
        == "manifest.json:3: error: domain 'one': budgetMilliseconds \(budget) is outside 1...60000"
    )
  }

  @Test func boundsAreInclusive() throws {
    _ = try loadManifest([
      domainJSON("small", heapKiB: 16, budgetMilliseconds: 1),
      domainJSON(
        "large", heapKiB: 65536, budgetMilliseconds: 60_000,
        extra: #", "sharedHeapKiB": 65536, "threads": 1024, "frames": 65536"#),
      domainJSON("none", extra: #", "sharedHeapKiB": 0, "threads": 0, "frames": 65"#),
    ])
  }

  // MARK: - Quotas

  @Test func quotasTakeTheirDefaultsWhenLeftOut() throws {
    let domain = try loadManifest([domainJSON("plain")]).domains[0]
    #expect(domain.sharedHeapKiB == 1024 && domain.threads == 8 && domain.frames == 1024)
  }

  @Test func quotasAreRead() throws {
    let domain = try loadManifest([
      domainJSON("tight", extra: #", "sharedHeapKiB": 64, "threads": 2, "frames": 100"#)
    ]).domains[0]
    #expect(domain.sharedHeapKiB == 64 && domain.threads == 2 && domain.frames == 100)
  }

  @Test(arguments: [
    ("sharedHeapKiB", -1, "0...65536"), ("sharedHeapKiB", 65537, "0...65536"),
    ("threads", -1, "0...1024"), ("threads", 100_000, "0...1024"),
    ("frames", 0, "1...65536"), ("frames", -3, "1...65536"), ("frames", 65537, "1...65536"),
  ])
  func quotaOutOfBounds(_ key: String, _ value: Int, _ bounds: String) {
    #expect(
      manifestRejection([domainJSON("one", extra: ", \"\(key)\": \(value)")])
        == "manifest.json:3: error: domain 'one': \(key) \(value) is outside \(bounds)")
  }

  @Test func framesMustHoldTheHeapAndMore() {
    #expect(
      manifestRejection([domainJSON("one", heapKiB: 4096)])
        == "manifest.json:3: error: domain 'one': frames 1024 leave no room beside its 4096 KiB heap (1024 frames) for its image and stacks"
    )
    #expect(
      manifestRejection([domainJSON("one", heapKiB: 4096, extra: #", "frames": 1025"#)]) == nil)
  }

  @Test func anUnknownKeyIsRefused() {
    #expect(
      manifestRejection([domainJSON("fine"), domainJSON("typo", extra: #", "thread": 4"#)])
        == "manifest.json:4: error: domain 'typo': no key 'thread' (there are name, service, exports, imports, heapKiB, budgetMilliseconds, sharedHeapKiB, threads, frames, device, libraries)"
    )
  }

  /// The kernel reads the quotas from the manifest text, always with their values.
  @Test func theManifestTextCarriesTheResolvedQuotas() throws {
    let manifest = try loadManifest([
      domainJSON("first", exports: ["A"]),
      domainJSON("second", extra: #", "threads": 3"#),
    ])
    let first = CodeGenerator.exports(for: manifest.domains[0], interfaces: manifestInterfaces)
    #expect(first.contains(#"\nsharedHeapKiB=1024\nthreads=8\nframes=1024\n"#))
    let second = CodeGenerator.exports(for: manifest.domains[1], interfaces: manifestInterfaces)
    #expect(second.contains(#"\nsharedHeapKiB=1024\nthreads=3\nframes=1024\n"#))
  }

  // MARK: - Whom a domain may call

  @Test func aDomainMayNotImportItsOwnExport() {
    #expect(
      manifestRejection([domainJSON("loop", exports: ["A", "B"], imports: ["B"])])
        == "manifest.json:3: error: domain 'loop': imports 'B', which it exports itself: a domain does not call itself (it would enter itself while inside a call)"
    )
  }

  @Test(arguments: ["_Service", "SwiftletService", "swiftletService"])
  func aServiceMayNotHaveAReservedName(_ service: String) {
    #expect(
      manifestRejection([domainJSON("one", service: service)])
        == "manifest.json:3: error: domain 'one': service '\(service)' has a name reserved for generated code (starting with _ or swiftlet)"
    )
  }

  @Test func notAManifest() throws {
    let error = try #require(
      throws: GeneratorError.self,
      performing: {
        try Manifest.load(
          json: Data("{\"domains\": 3}".utf8), file: "manifest.json", interfaces: [])
      })
    #expect(error.line == 1)
    #expect(error.reason.hasPrefix("not a valid manifest: "))
  }

  /// A driver's entry: its device and libraries, as domains/manifest.json gives them.
  func driverJSON(device: String, libraries: String = #"["Registers"]"#) -> String {
    String(domainJSON("driver").dropLast(2))
      + #", "device": "\#(device)", "libraries": \#(libraries) }"#
  }

  @Test func aDriverNamesItsDeviceAndLibraries() throws {
    let manifest = try loadManifest([
      driverJSON(device: "1af4:1001,1af4:1042", libraries: #"["Registers", "Virtio"]"#)
    ])
    #expect(manifest.domains[0].device == "1af4:1001,1af4:1042")
    #expect(manifest.domains[0].libraries == ["Registers", "Virtio"])
    #expect(try loadManifest([domainJSON("plain")]).domains[0].device == nil)
  }

  @Test(arguments: ["1af4", "1AF4:1001", "1af4:1001,8086:100e", "1af4:1001,", "1af4:10011", ""])
  func aMalformedDeviceIsRefused(device: String) {
    let message = manifestRejection([driverJSON(device: device)])
    #expect(message?.contains("device '\(device)' is not") == true, "\(message ?? "accepted")")
  }

  @Test func anUnknownLibraryIsRefused() {
    let message = manifestRejection([driverJSON(device: "1af4:1001", libraries: #"["Foundation"]"#)]
    )
    #expect(message?.contains("no library 'Foundation'") == true, "\(message ?? "accepted")")
  }
}
